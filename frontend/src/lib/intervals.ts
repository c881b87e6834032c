// Polling intervals (ms). Failed polls back off exponentially from these (see usePolling).
export const LIVE_INTERVAL_MS = 10_000;
export const JOB_RUNNING_INTERVAL_MS = 2_000;
export const JOBS_IDLE_INTERVAL_MS = 10_000;
export const STATIC_INTERVAL_MS = 60_000;
export const HEALTH_INTERVAL_MS = 5_000;
export const COLORS_INTERVAL_MS = 30_000;

import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import configs from "./fixtures/configs.json";
import jobRunning from "./fixtures/job_running.json";
import jobStopped from "./fixtures/job_stopped.json";
import jobs from "./fixtures/jobs.json";
import models from "./fixtures/models.json";
import runTrading from "./fixtures/run_trading.json";
import status from "./fixtures/status.json";
import { mockApi, reply } from "./mockApi";

const JOB = jobRunning.job_id;

function routes(extra: Record<string, unknown> = {}) {
  return {
    "GET /": status,
    "GET /api/configs": configs,
    "GET /api/models": models,
    "GET /api/jobs": jobs,
    [`GET /api/job/${JOB}`]: jobRunning,
    "POST /api/run-trading": runTrading,
    [`POST /api/stop/${JOB}`]: jobStopped,
    ...extra,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Jobs view", () => {
  it("starts a run with the chosen config, dates and agents", async () => {
    const api = mockApi(routes());
    window.location.hash = "#/jobs";
    render(<App />);
    const form = await screen.findByRole("form", { name: "Start a run" });
    expect(within(form).getByRole("combobox", { name: "Config" })).toHaveValue("default_config.json");
    expect(within(form).getByLabelText("Start date")).toHaveValue("2025-11-03");
    expect(within(form).getByLabelText("End date")).toHaveValue("2025-11-28");
    await within(form).findByText("missing key");
    // an agent that cannot run (no API key) is not ticked by default; the others are
    expect(within(form).getByRole("checkbox", { name: /gpt-5/ })).not.toBeChecked();
    expect(within(form).getByRole("checkbox", { name: /baseline-buy-and-hold/ })).toBeChecked();
    expect(within(form).getByRole("checkbox", { name: /baseline-momentum/ })).toBeChecked();
    fireEvent.change(within(form).getByLabelText("End date"), { target: { value: "2025-11-05" } });
    fireEvent.click(within(form).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(window.location.hash).toBe(`#/jobs/${JOB}`));
    expect(api.callsTo("POST /api/run-trading")[0]?.body).toEqual({
      config_path: "default_config.json",
      end_date: "2025-11-05",
      signatures: ["baseline-buy-and-hold", "baseline-momentum"],
    });
  });

  it("still lets the user tick an agent that cannot run, and untick a ready one", async () => {
    const api = mockApi(routes());
    window.location.hash = "#/jobs";
    render(<App />);
    const form = await screen.findByRole("form", { name: "Start a run" });
    await within(form).findByText("missing key");
    fireEvent.click(within(form).getByRole("checkbox", { name: /gpt-5/ }));
    fireEvent.click(within(form).getByRole("checkbox", { name: /baseline-momentum/ }));
    fireEvent.click(within(form).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(api.callsTo("POST /api/run-trading")).toHaveLength(1));
    expect(api.callsTo("POST /api/run-trading")[0]?.body).toEqual({
      config_path: "default_config.json",
      signatures: ["baseline-buy-and-hold", "gpt-5"],
    });
  });

  it("disables Start when no agent of the config can run", async () => {
    const onlyMissing = {
      data: models.data.map((m) => ({ ...m, status: "missing_key", skip_reason: "KEY not set" })),
    };
    mockApi(routes({ "GET /api/models": onlyMissing }));
    window.location.hash = "#/jobs";
    render(<App />);
    const form = await screen.findByRole("form", { name: "Start a run" });
    await waitFor(() => expect(within(form).getAllByText("missing key")).toHaveLength(3));
    for (const box of within(form).getAllByRole("checkbox")) expect(box).not.toBeChecked();
    expect(within(form).getByRole("button", { name: "Start run" })).toBeDisabled();
  });

  it("switching config resets dates and agents", async () => {
    const api = mockApi(routes());
    window.location.hash = "#/jobs";
    render(<App />);
    const form = await screen.findByRole("form", { name: "Start a run" });
    fireEvent.change(within(form).getByRole("combobox", { name: "Config" }), {
      target: { value: "star10_files.json" },
    });
    expect(within(form).getByLabelText("Start date")).toHaveValue("2025-10-09");
    expect(within(form).getAllByRole("checkbox")).toHaveLength(1);
    fireEvent.click(within(form).getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(api.callsTo("POST /api/run-trading")).toHaveLength(1));
    expect(api.callsTo("POST /api/run-trading")[0]?.body).toEqual({ config_path: "star10_files.json" });
  });

  it("shows why a run could not start", async () => {
    mockApi(
      routes({
        "POST /api/run-trading": reply(409, { detail: "a job is already running on this data root" }),
      }),
    );
    window.location.hash = "#/jobs";
    render(<App />);
    const form = await screen.findByRole("form", { name: "Start a run" });
    fireEvent.click(within(form).getByRole("button", { name: "Start run" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent(
      "Could not start the run: a job is already running on this data root",
    );
  });

  it("watches a running job every 2 s, then stops it", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let current: unknown = jobRunning;
    const api = mockApi(
      routes({
        [`GET /api/job/${JOB}`]: () => current,
        [`POST /api/stop/${JOB}`]: () => {
          current = jobStopped;
          return jobStopped;
        },
      }),
    );
    window.location.hash = `#/jobs/${JOB}`;
    render(<App />);
    const detail = await screen.findByTestId("job-detail");
    await waitFor(() => expect(within(detail).getByTestId("job-status")).toHaveTextContent("running"));
    const agent = within(detail).getByTestId("job-agent-baseline-buy-and-hold");
    expect(within(agent).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "4");
    // an agent the run could not start: its reason, no endless "starting 0 / ?"
    const skipped = within(detail).getByTestId("job-agent-gpt-5");
    expect(skipped).toHaveTextContent("skipped: OPENAI_API_KEY not set");
    expect(skipped).not.toHaveTextContent("starting");
    expect(within(skipped).queryByRole("progressbar")).toBeNull();
    expect(within(detail).getByTestId("job-log")).toHaveTextContent("started 2 agent process(es)");
    const before = api.callsTo(`GET /api/job/${JOB}`).length;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2_100);
    });
    expect(api.callsTo(`GET /api/job/${JOB}`).length).toBe(before + 1);

    const healthBefore = api.callsTo("GET /").length;
    fireEvent.click(within(detail).getByRole("button", { name: "Stop" }));
    // the server badge (active jobs) refreshes at once
    await waitFor(() => expect(api.callsTo("GET /").length).toBeGreaterThan(healthBefore));
    await waitFor(() => expect(within(detail).getByTestId("job-status")).toHaveTextContent("stopped"));
    expect(api.callsTo(`POST /api/stop/${JOB}`)).toHaveLength(1);
    // a JSON body: the server refuses state changes without one (no cross-site form posts)
    expect(api.callsTo(`POST /api/stop/${JOB}`)[0]?.body).toEqual({});
    const stopInit = vi.mocked(fetch).mock.calls.find(([url]) => String(url).includes("/api/stop/"));
    expect((stopInit?.[1]?.headers as Record<string, string>)["Content-Type"]).toBe(
      "application/json",
    );
    expect(within(detail).queryByRole("button", { name: "Stop" })).toBeNull();
    expect(within(detail).getByTestId("job-log")).toHaveTextContent("received SIGTERM");
    expect(detail).toHaveTextContent("exit code 143");
  });

  it("lists jobs newest first with their progress", async () => {
    mockApi(routes());
    window.location.hash = "#/jobs";
    render(<App />);
    const table = await screen.findByRole("table", { name: "Jobs" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent(JOB.slice(0, 8));
    expect(within(rows[0] as HTMLElement).getByRole("progressbar")).toHaveAttribute(
      "aria-valuenow",
      "7",
    );
    expect(rows[1]).toHaveTextContent("completed");
  });

  it("shows the empty state without jobs", async () => {
    mockApi(routes({ "GET /api/jobs": { data: [], count: 0 } }));
    window.location.hash = "#/jobs";
    render(<App />);
    expect(await screen.findByText("No jobs yet.")).toBeInTheDocument();
  });
});

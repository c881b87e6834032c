import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
// Noto Sans SC, regular weight only, split by unicode-range: a browser fetches just the slices
// with characters on screen, so Chinese text renders on machines without CJK fonts.
import "@fontsource/noto-sans-sc/400.css";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("missing #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

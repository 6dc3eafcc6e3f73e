// Chaîne portal behaviour. Every page works without it; it adds the CSRF header to htmx
// requests, drag and drop for uploads, dialogs, select-all boxes and live countdowns.
"use strict";

document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRF-Token"] = token.content;
});

function setUpDropzones(root) {
  root.querySelectorAll(".dropzone").forEach((zone) => {
    const input = zone.querySelector('input[type="file"]');
    const shown = zone.querySelector("[data-file-name]");
    if (!input || zone.dataset.ready) return;
    zone.dataset.ready = "1";
    const show = () => { if (shown) shown.textContent = Array.from(input.files).map((f) => f.name).join(", "); };
    input.addEventListener("change", show);
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      input.files = event.dataTransfer.files;
      show();
    });
  });
}

function remaining(until) {
  const seconds = Math.max(0, Math.floor((until - Date.now()) / 1000));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const day = document.documentElement.lang === "en" ? "d" : "j";
  return `${days} ${day} ${String(hours).padStart(2, "0")} h ${String(minutes).padStart(2, "0")} min`;
}

function tickCountdowns() {
  document.querySelectorAll("[data-countdown]").forEach((node) => {
    node.textContent = remaining(Date.parse(node.dataset.countdown));
  });
}

document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog) { event.preventDefault(); dialog.showModal(); }
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) { event.preventDefault(); closer.closest("dialog").close(); }
});

document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[type="checkbox"][name="${all.dataset.selectAll}"]`)
    .forEach((box) => { box.checked = all.checked; });
});

document.addEventListener("DOMContentLoaded", () => {
  setUpDropzones(document);
  tickCountdowns();
  setInterval(tickCountdowns, 30000);
});
document.addEventListener("htmx:afterSwap", (event) => setUpDropzones(event.target));

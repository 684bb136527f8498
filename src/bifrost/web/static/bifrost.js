// Bifrost's pages work without this file; it adds what only a script can do.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Copy as Markdown": the Report's Markdown is in the page; the button shows once it works.
  for (const button of document.querySelectorAll("[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(source.value);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
  // A form that takes a while says so, and is not sent twice.
  for (const form of document.querySelectorAll("form[data-busy]")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (!button) return;
      setTimeout(() => {  // after the browser has read the button's own value
        button.disabled = true;
        button.textContent = form.dataset.busy;
      });
    });
  }
});

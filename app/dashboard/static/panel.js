// bazgasht panel: the live SMS preview and confirmations. Everything works without it (the
// editor has a preview button and forms post normally); this only saves round trips.
"use strict";

document.documentElement.classList.add("js");

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function debounce(fn, ms) {
  let timer = null;
  return function (...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), ms);
  };
}

function setupPreview(form) {
  const url = form.dataset.previewUrl;
  const pending = new Map();

  async function refresh(textarea) {
    const box = document.getElementById("preview-" + textarea.dataset.preview);
    if (!box) return;
    const body = new URLSearchParams(new FormData(form));
    body.set("preview_template", textarea.value);
    const previous = pending.get(box);
    if (previous) previous.abort();
    const controller = new AbortController();
    pending.set(box, controller);
    box.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        signal: controller.signal,
        credentials: "same-origin",
        headers: {"X-CSRF-Token": csrfToken(), "X-Requested-With": "fetch"},
      });
      if (response.status === 401) {
        window.location.reload();  // signed out meanwhile: the page sends to the sign-in form
        return;
      }
      if (response.ok) box.innerHTML = await response.text();
    } catch (error) {
      if (error.name !== "AbortError") box.dataset.failed = "true";
    } finally {
      if (pending.get(box) === controller) {
        pending.delete(box);
        box.removeAttribute("aria-busy");
      }
    }
  }

  const later = new Map();
  const schedule = (textarea) => {
    if (!later.has(textarea)) later.set(textarea, debounce(refresh, 350));
    later.get(textarea)(textarea);
  };
  form.querySelectorAll("textarea[data-preview]").forEach((textarea) => {
    textarea.addEventListener("input", () => schedule(textarea));
  });
  // A coupon changes what {{ coupon_code }} shows: redraw every text that has a preview.
  form.querySelectorAll(".coupon input, .coupon select").forEach((field) => {
    field.addEventListener("change", () => {
      form.querySelectorAll("textarea[data-preview]").forEach((textarea) => {
        if (textarea.value.trim()) schedule(textarea);
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  // On a phone the menu scrolls sideways: keep the page's own entry in sight.
  const current = document.querySelector('.top nav a[aria-current="page"]');
  if (current) current.scrollIntoView({block: "nearest", inline: "nearest"});
  const editor = document.getElementById("step-form");
  if (editor && editor.dataset.previewUrl) setupPreview(editor);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});

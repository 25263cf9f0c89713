// bazgasht step editor: an SMS text as Persian words and named chips, never braces.
//
// Each text box of the step form is a <textarea> the form posts as it always did: the template
// the API stores ({{ first_name or "مشتری" }} عزیز، …). The server reads it into chips
// (data-chips, app/dashboard/chips.py); here they are shown in an editable box, and every edit
// writes the template back into the textarea the same way chips.py's template_of does, so the
// live preview (panel.js) and the save see exactly what the merchant sees. A text the chips
// cannot say (no data-chips) stays in its textarea, with a note. Without this script the
// textareas are the editor.
"use strict";

(function () {
  const OPENS = /\{(?=[{%#])/g;  // a "{" that would open a tag: written as text
  const BRACE = '{{ "{" }}';
  const NOT_IN_FALLBACK = /["\\{}]/g;
  const FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  const NEAR = 0.8;  // of the cap: the size shows from here on

  // 1234 → «۱٬۲۳۴», as the panel writes numbers (app/dashboard/views.py _number)
  const persian = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "٬")
    .replace(/\d/g, (d) => FA_DIGITS[d]);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, key) =>
    key in values ? values[key] : all);

  function escaped(text, beforeTag) {
    let out = text.replace(OPENS, BRACE);
    if (beforeTag && out.endsWith("{")) out = out.slice(0, -1) + BRACE;
    return out;
  }

  // chips.py template_of
  function templateOf(segments) {
    return segments.map((segment, i) => {
      if ("text" in segment) return escaped(segment.text, i + 1 < segments.length);
      if (segment.fallback) return `{{ ${segment.var} or "${segment.fallback}" }}`;
      return `{{ ${segment.var} }}`;
    }).join("");
  }

  // The editable box's content as segments: text, chips, and whatever wraps them.
  function segmentsOf(box) {
    const segments = [];
    const addText = (text) => {
      if (!text) return;
      const last = segments[segments.length - 1];
      if (last && "text" in last) last.text += text;
      else segments.push({text});
    };
    const walk = (node) => {
      node.childNodes.forEach((child) => {
        if (child.nodeType === Node.TEXT_NODE) addText(child.data.replace(/\u00a0/g, " "));
        else if (child.classList && child.classList.contains("chip")) {
          const segment = {var: child.dataset.var};
          if (child.dataset.fallback) segment.fallback = child.dataset.fallback;
          segments.push(segment);
        } else if (child.nodeName === "BR") addText("\n");
        else walk(child);
      });
    };
    walk(box);
    return segments;
  }

  const words = document.getElementById("chip-words");
  const labels = words ? JSON.parse(words.dataset.labels) : {};

  function chip(name, fallback) {
    const node = document.createElement("span");
    node.className = "chip";
    node.contentEditable = "false";
    node.dataset.var = name;
    node.textContent = labels[name] || name;
    if (fallback) setFallback(node, fallback);
    return node;
  }

  function setFallback(node, word) {
    word = word.replace(NOT_IN_FALLBACK, "");
    let small = node.querySelector("small");
    if (!word) {
      delete node.dataset.fallback;
      if (small) small.remove();
      return;
    }
    node.dataset.fallback = word;
    if (!small) {
      small = document.createElement("small");
      node.append(small);
    }
    small.textContent = fill(words.dataset.or, {word});
  }

  function setupBox(textarea) {
    const field = textarea.closest(".text-field") || textarea.parentElement;
    const tools = textarea.nextElementSibling;
    const size = tools.querySelector(".text-size");
    const max = Number(textarea.dataset.max);

    // The text's size against the cap the server holds it to, once it comes near: the
    // preview counts what the customer reads, this what the step stores (a chip counts as its
    // variable's name).
    function count() {
      const length = textarea.value.trim().length;
      const over = length > max;
      // A refused save says why next to the text already: the size alone, not again why.
      const said = field.querySelector(":scope > .field-error");
      size.textContent = length < NEAR * max ? ""
        : fill(words.dataset[over && !said ? "over" : "size"],
               {n: persian(length), max: persian(max)});
      size.classList.toggle("over", over);
    }

    function changed(typed) {
      // What the last save said about the text is out of date once it changes.
      field.querySelectorAll(":scope > .field-error").forEach((error) => error.remove());
      count();
      // The preview (panel.js) follows the textarea's input events.
      if (!typed) textarea.dispatchEvent(new Event("input", {bubbles: true}));
    }

    let insert;
    if (textarea.dataset.chips === undefined) {
      const note = document.createElement("p");
      note.className = "hint raw-note";
      note.textContent = words.dataset.raw;
      textarea.before(note);
      textarea.dir = "ltr";  // template code reads left to right, braces in order
      textarea.addEventListener("input", (event) => {
        if (event.isTrusted) changed(true);
      });
      insert = (name) => {  // in the plain box the variable goes in as the template says it
        textarea.focus();
        textarea.setRangeText(`{{ ${name} }}`, textarea.selectionStart, textarea.selectionEnd,
                              "end");
        changed();
      };
    } else {
      insert = setupChips(textarea, changed);
    }
    tools.querySelectorAll(".chip-option").forEach((button) => {
      button.addEventListener("mousedown", (event) => event.preventDefault());  // keep the caret
      button.addEventListener("click", () => {
        insert(button.dataset.var, button.dataset.fallback);
        tools.querySelector("details").open = false;
      });
    });
    count();
  }

  function setupChips(textarea, changed) {
    const box = document.createElement("div");
    box.className = "chip-editor";
    box.dir = "rtl";
    box.setAttribute("role", "textbox");
    box.setAttribute("aria-multiline", "true");
    const label = document.querySelector(`label[for="${textarea.id}"]`);
    if (label && label.id) box.setAttribute("aria-labelledby", label.id);
    box.dataset.placeholder = textarea.placeholder || "";
    try {
      box.contentEditable = "plaintext-only";  // no bold, no pasted markup
    } catch (error) {
      box.contentEditable = "true";
    }
    JSON.parse(textarea.dataset.chips).forEach((segment) => {
      box.append("text" in segment ? document.createTextNode(segment.text)
                                   : chip(segment.var, segment.fallback));
    });
    const fallback = fallbackField(box, sync);
    textarea.hidden = true;
    textarea.before(box);
    box.after(fallback.element);

    function sync() {
      textarea.value = templateOf(segmentsOf(box));
      changed();
    }

    let caret = null;  // where a chip goes: the last place the merchant was in the box
    document.addEventListener("selectionchange", () => {
      const selection = window.getSelection();
      if (selection.rangeCount && box.contains(selection.anchorNode)) {
        caret = selection.getRangeAt(0).cloneRange();
      }
    });
    box.addEventListener("input", sync);
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault();  // an SMS is one paragraph
    });
    box.addEventListener("paste", (event) => {
      event.preventDefault();
      const text = event.clipboardData.getData("text/plain").replace(/\s*\n\s*/g, " ");
      document.execCommand("insertText", false, text);  // undoable, and an input event
    });
    box.addEventListener("drop", (event) => event.preventDefault());
    box.addEventListener("click", (event) => {
      const target = event.target.closest(".chip");
      fallback.show(target && (target.dataset.fallback || target.dataset.var === "first_name"
                               || target.dataset.var === "last_name") ? target : null);
    });

    return function insert(name, word) {
      const node = chip(name, word);
      let range = caret;
      if (!range || !box.contains(range.startContainer)) {
        range = document.createRange();
        range.selectNodeContents(box);
        range.collapse(false);
      }
      range.deleteContents();
      range.insertNode(node);
      spaceAround(node);
      const after = document.createRange();
      after.setStart(node.nextSibling, 1);  // after the space that follows the chip
      after.collapse(true);
      box.focus();
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(after);
      sync();
    };
  }

  // Words stay apart from a chip put between them.
  function spaceAround(node) {
    const before = node.previousSibling;
    if (before && before.nodeType === Node.TEXT_NODE && /\S$/.test(before.data)) {
      node.before(" ");
    } else if (before && before.classList && before.classList.contains("chip")) {
      node.before(" ");
    }
    const next = node.nextSibling;
    if (!(next && next.nodeType === Node.TEXT_NODE && /^\s/.test(next.data))) node.after(" ");
  }

  // The word a name chip says when the customer's name is missing.
  function fallbackField(box, sync) {
    const element = document.createElement("p");
    element.className = "chip-fallback";
    element.hidden = true;
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.maxLength = 30;
    label.append(document.createElement("span"), input);
    element.append(label);
    let current = null;
    input.addEventListener("input", () => {
      if (!current) return;
      setFallback(current, input.value);
      sync();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        show(null);
        box.focus();
      }
    });
    function show(node) {
      if (current) current.classList.remove("chosen");
      current = node;
      element.hidden = !node;
      if (!node) return;
      node.classList.add("chosen");
      label.firstChild.textContent = fill(words.dataset.fallback,
                                          {label: labels[node.dataset.var] || ""});
      input.value = node.dataset.fallback || "";
      input.focus();
    }
    return {element, show};
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!words) return;
    document.querySelectorAll("textarea[data-max]").forEach(setupBox);
  });
})();

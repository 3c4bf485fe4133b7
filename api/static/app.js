// Keyboard shortcuts and small conveniences for the inbox pages. Plain JS, no build step;
// every action also works without it (links and forms), so this only makes it faster.
(function () {
  "use strict";

  const page = document.body.dataset.page;
  const $ = (selector) => document.querySelector(selector);

  function isTyping(el) {
    return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }

  function submit(form) {
    if (!form) return;
    // requestSubmit fires the submit event, so the discard confirmation still applies
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  function follow(selector) {
    const link = $(selector);
    if (link) window.location.href = link.href;
  }

  function focusAtStart(field) {
    if (!field) return;
    field.focus();
    field.setSelectionRange(0, 0);
    field.scrollTop = 0;
  }

  // --- the inbox list: j/k select a row, Enter/o open it -----------------------------------
  const rows = Array.from(document.querySelectorAll(".draft-row"));
  let selected = -1;

  function select(index) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("selected", i === selected));
    rows[selected].scrollIntoView({ block: "nearest" });
    rows[selected].querySelector("a.open").focus({ preventScroll: true });
  }

  rows.forEach((row, i) => {
    row.addEventListener("click", (event) => {
      if (event.target.closest("a, button")) return;  // real links keep their own target
      window.location.href = row.dataset.href;
    });
    row.addEventListener("focusin", () => { selected = i; rows.forEach((r, j) => r.classList.toggle("selected", j === i)); });
  });

  // --- forms: confirm a discard, no double submits, say when the draft was edited ----------
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      // let this submission go, then stop a second one (Enter pressed twice, a double click)
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
    });
  });

  const subject = $("#subject");
  const body = $("#body");
  const approveButton = $("#approve-button");
  const wordCount = $("[data-wordcount]");

  function showEdited() {
    if (!approveButton || !subject || !body) return;
    const edited = subject.value.trim() !== subject.defaultValue.trim() ||
      body.value.trim() !== body.defaultValue.trim();
    approveButton.dataset.labelPlain = approveButton.dataset.labelPlain || approveButton.textContent;
    approveButton.textContent = edited ? approveButton.dataset.labelEdited : approveButton.dataset.labelPlain;
    // confirming failed guardrails is for sending the draft unchanged: an edit is checked again
    const override = $("#override-guardrails");
    if (override) override.required = !edited;
    if (wordCount) {
      const words = body.value.trim().split(/\s+/).filter(Boolean).length;
      wordCount.textContent = `(${words} words${edited ? ", edited" : ""})`;
    }
  }
  [subject, body].forEach((field) => field && field.addEventListener("input", showEdited));
  showEdited();

  // the whole body in view, unsubscribe line included: a reviewer should not have to scroll
  // inside the box to see what will be sent (CSSOM writes are allowed by the page's CSP)
  function fitBody() {
    if (!body) return;
    body.style.height = "auto";
    body.style.height = `${body.scrollHeight + 2}px`;
  }
  if (body) { body.addEventListener("input", fitBody); fitBody(); }

  // --- shortcuts --------------------------------------------------------------------------
  const help = $("#shortcuts");
  document.querySelectorAll("[data-action=help]").forEach((button) => {
    button.addEventListener("click", () => help && help.showModal());
  });

  function onTypingKey(event) {
    const field = event.target;
    if (event.key === "Escape") { field.blur(); return; }
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (field === body || field === subject) { event.preventDefault(); submit($("#approve-form")); }
    else if (field.id === "feedback") { event.preventDefault(); submit($("#respond-form")); }
  }

  const draftKeys = {
    j: () => follow("[data-nav=next]"),
    k: () => follow("[data-nav=prev]"),
    u: () => follow("[data-nav=up]"),
    a: () => submit($("#approve-form")),
    r: () => $("#feedback") && $("#feedback").focus(),
    d: () => submit($("#discard-form")),
    e: () => focusAtStart(body),
  };
  const listKeys = {
    j: () => select(selected + 1),
    k: () => select(selected - 1),
    o: () => rows[selected] && (window.location.href = rows[selected].dataset.href),
    Enter: () => rows[selected] && (window.location.href = rows[selected].dataset.href),
  };
  const otherKeys = { u: () => follow("[data-nav=up]") };

  document.addEventListener("keydown", (event) => {
    if (isTyping(event.target)) { onTypingKey(event); return; }
    if (help && help.open) return;  // the dialog handles its own keys (Esc closes it)
    if (event.ctrlKey || event.metaKey || event.altKey) return;  // leave browser shortcuts alone
    if (event.key === "?") { event.preventDefault(); help && help.showModal(); return; }
    const keys = page === "inbox" ? listKeys : page === "draft" ? draftKeys : otherKeys;
    const action = keys[event.key];
    if (!action) return;
    // Enter on a focused link already opens it; only take Enter when nothing else would
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button")) return;
    event.preventDefault();
    action();
  });
})();

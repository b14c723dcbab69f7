// The consoles' behaviours, driven by data attributes (no inline script; CSP script-src 'self').
//   data-confirm="..."     on a form or a submit button: ask before submitting
//   data-sse="/url"        receive Server-Sent Events: an event's data is an HTML fragment that
//                          replaces the element's content, or JSON {"progress": {id: percent}}
//                          that moves the [data-progress=id] bars inside it; a stream the server
//                          refuses (session ended) reloads the page, which then says why
//   data-progress="id"     a progress bar (a .bar child whose width is the percentage)
//   data-autorefresh="s"   reload the page every s seconds (paused while the page is hidden)
(function () {
  "use strict";

  function confirmSubmit(event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (button && !button.hasAttribute("data-keep-enabled")) {
      // one submission per click: a double click does not act twice
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  }

  function setProgress(root, id, percent) {
    var value = Math.max(0, Math.min(100, Number(percent) || 0));
    root.querySelectorAll('[data-progress="' + id + '"]').forEach(function (bar) {
      var fill = bar.querySelector(".bar") || bar;
      fill.style.width = value + "%";
      bar.setAttribute("aria-valuenow", String(value));
    });
  }

  function applyEvent(element, data) {
    var trimmed = data.trim();
    if (trimmed.charAt(0) === "{") {
      try {
        var message = JSON.parse(trimmed);
        if (message.progress) {
          Object.keys(message.progress).forEach(function (id) {
            setProgress(element, id, message.progress[id]);
          });
        }
        if (typeof message.html === "string") { element.innerHTML = message.html; }
        return;
      } catch (ignored) { /* not JSON: an HTML fragment */ }
    }
    element.innerHTML = data;
  }

  function connect(element) {
    var url = element.getAttribute("data-sse");
    var source = new EventSource(url);
    element.setAttribute("data-sse-state", "connecting");
    source.onopen = function () { element.setAttribute("data-sse-state", "open"); };
    source.onerror = function () {
      element.setAttribute("data-sse-state", "offline");
      if (source.readyState === EventSource.CLOSED) {
        // the server answered but not with events (the session ended, a role was taken away):
        // reload, so the page itself says why (sign-in or an error page) instead of going stale
        window.setTimeout(function () { window.location.reload(); }, 3000);
      }
    };
    source.onmessage = function (event) { applyEvent(element, event.data); };
    source.addEventListener("done", function (event) {
      if (event.data) { applyEvent(element, event.data); }
      element.setAttribute("data-sse-state", "done");
      source.close();
    });
  }

  function autorefresh(element) {
    var seconds = Number(element.getAttribute("data-autorefresh")) || 30;
    window.setInterval(function () {
      if (!document.hidden) { window.location.reload(); }
    }, Math.max(2, seconds) * 1000);
  }

  document.addEventListener("submit", confirmSubmit);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress]").forEach(function (bar) {
      var start = bar.getAttribute("data-value");
      if (start !== null) { setProgress(bar.parentNode || document, bar.getAttribute("data-progress"), start); }
    });
    document.querySelectorAll("[data-sse]").forEach(connect);
    document.querySelectorAll("[data-autorefresh]").forEach(autorefresh);
  });
})();

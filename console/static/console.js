// Forms that ask before they change something (data-confirm="…"): the page's CSP
// allows no inline script, so no onsubmit attributes.
(function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
// A little help on top of forms that work without JavaScript.
// The solve progress page refreshes itself while the solver runs (see plan_job.html).
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      Object.keys(j.fields || {}).forEach(function (k) {
        var el = document.getElementById("p-" + k);
        if (el) el.textContent = j.fields[k];
      });
      if (j.done && j.next) { window.location.href = j.next; return; }
      if (j.done) {
        // Finished without a draft (failed or cancelled): the cancel button has no use now.
        var cancel = document.getElementById("cancel-solve");
        if (cancel && cancel.form) cancel.form.hidden = true;
        return;
      }
      setTimeout(tick, 1000);
    }).catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 1000);
})();

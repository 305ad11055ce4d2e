// 速報: replace the #live block with a fresh copy of the page every few seconds
// (without JavaScript the page reloads itself through <meta refresh>).
(function () {
  var box = document.getElementById("live");
  if (!box) return;
  var seconds = parseInt(box.getAttribute("data-live-seconds"), 10) || 5;
  function tick() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) {
          // The session has ended (logout, idle timeout): the answer is the login page.
          // Say so and stop, rather than showing old figures as if they were live.
          var asOf = box.querySelector("[data-as-of]");
          var note = document.getElementById("live-stopped");
          note.textContent = "ログインが切れたため、速報の更新を止めました(" +
            (asOf ? asOf.getAttribute("data-as-of") : "") +
            " 現在の数字のままです)。もう一度ログインしてください。";
          note.hidden = false;
          box.classList.add("stale");
          return;
        }
        box.innerHTML = fresh.innerHTML;
        setTimeout(tick, seconds * 1000);
      })
      .catch(function () { setTimeout(tick, seconds * 2000); });
  }
  setTimeout(tick, seconds * 1000);
})();

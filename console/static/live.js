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
        if (fresh) box.innerHTML = fresh.innerHTML;
        setTimeout(tick, seconds * 1000);
      })
      .catch(function () { setTimeout(tick, seconds * 2000); });
  }
  setTimeout(tick, seconds * 1000);
})();

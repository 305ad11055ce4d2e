/* 何度も書かない: builds the request QR code in the browser. Nothing is sent anywhere.
 *
 * Payload (the same as odekake/prefill.py): "ODK1:" + base64url(UTF-8 JSON) + ":" + CRC-32,
 * ASCII only so that a keyboard-wedge scanner can type it into the kiosk.
 */
(function () {
  "use strict";

  var CAT = JSON.parse(document.getElementById("catalogue").textContent);
  /* The kiosk decoder's own rules (odekake.prefill.rules), written in by the site build. */
  var RULES = JSON.parse(document.getElementById("rules").textContent);
  var ERAS = [
    ["令和", 2019], ["平成", 1989], ["昭和", 1926], ["大正", 1912], ["明治", 1868], ["西暦", 0]
  ];
  var current = null;

  function $(id) { return document.getElementById(id); }

  function option(select, value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }

  function radios(containerId, name, values) {
    var box = $(containerId);
    values.forEach(function (v, i) {
      var id = containerId + "-" + i;
      var label = document.createElement("label");
      label.className = "choice";
      label.setAttribute("for", id);
      var input = document.createElement("input");
      input.type = "radio";
      input.name = name;
      input.id = id;
      input.value = v;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + v));
      box.appendChild(label);
    });
  }

  function yen(fee) {
    if (fee === null || fee === undefined) { return "手数料は窓口でご確認ください"; }
    return fee === 0 ? "無料" : fee.toLocaleString("ja-JP") + "円";
  }

  function birthInputs(field) {
    var prefix = field.closest("fieldset").id.replace("svc-", "");
    var row = field.querySelector(".birth-row");
    var era = document.createElement("select");
    era.id = prefix + "-birth-era";
    era.setAttribute("aria-label", "元号");
    option(era, "", "元号");
    ERAS.forEach(function (e) { option(era, e[0], e[0]); });
    row.appendChild(era);
    [["year", "年", 4], ["month", "月", 2], ["day", "日", 2]].forEach(function (p) {
      var input = document.createElement("input");
      input.id = prefix + "-birth-" + p[0];
      input.inputMode = "numeric";
      input.size = p[2] + 1;
      input.setAttribute("aria-label", p[1]);
      row.appendChild(input);
      var unit = document.createElement("span");
      unit.textContent = p[1];
      row.appendChild(unit);
    });
  }

  function setup() {
    var services = $("services");
    Object.keys(CAT.services).forEach(function (key) {
      var label = document.createElement("label");
      label.className = "choice big";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "service";
      input.value = key;
      input.id = "service-" + key;
      label.setAttribute("for", input.id);
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + CAT.services[key].title));
      services.appendChild(label);
      input.addEventListener("change", function () { show(key); });
    });
    CAT.certificates.forEach(function (c) {
      option($("cert-service_code"), c.code, c.name + "(1通 " + yen(c.fee) + ")");
    });
    CAT.garbage.forEach(function (c) {
      option($("garbage-service_code"), c.code, c.name + "(1枚 " + yen(c.fee) + ")");
    });
    if (CAT.disasters.length === 0) {
      option($("disaster-disaster_id"), "", "現在受け付けている災害はありません");
    }
    CAT.disasters.forEach(function (d) { option($("disaster-disaster_id"), d.id, d.name); });
    $("disaster-disaster_id").addEventListener("change", fillCauses);
    fillCauses();
    radios("cert-relation", "relation", CAT.cert_relations);
    radios("mynumber-route", "route", CAT.routes);
    radios("disaster-relation", "relation", CAT.disaster_relations);
    radios("disaster-ownership", "ownership", CAT.ownership);
    radios("disaster-water_level", "water_level", CAT.water_levels);
    document.querySelectorAll(".field.birth").forEach(birthInputs);
    $("cert-relation").addEventListener("change", function () {
      $("cert-subject-row").hidden = radioValue("svc-cert", "relation") === "本人" ||
        radioValue("svc-cert", "relation") === "";
    });
    $("request").addEventListener("submit", function (ev) { ev.preventDefault(); make(); });
    $("print").addEventListener("click", function () { window.print(); });
    $("edit").addEventListener("click", function () {
      $("result").hidden = true;
      $("request").hidden = false;
      $("make").focus();
    });
  }

  function fillCauses() {
    var select = $("disaster-cause");
    var id = $("disaster-disaster_id").value;
    select.innerHTML = "";
    option(select, "", "選んでください");
    var d = CAT.disasters.filter(function (x) { return x.id === id; })[0];
    (d ? d.causes : ["浸水", "倒壊", "風", "土砂", "火災", "その他"]).forEach(function (c) {
      option(select, c, c);
    });
  }

  function show(key) {
    current = key;
    document.querySelectorAll("fieldset.service").forEach(function (f) {
      f.hidden = f.id !== "svc-" + key;
    });
    clearErrors();
  }

  function radioValue(fieldsetId, name) {
    var el = document.querySelector("#" + fieldsetId + " input[name=" + name + "]:checked");
    return el ? el.value : "";
  }

  /* --- checks (the kiosk checks everything again) ------------------------------ */

  function toHalfWidth(s) {
    return s.replace(/[\uFF01-\uFF5E]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
    }).replace(/\u3000/g, " ");
  }

  function myNumberCheckDigit(first11) {
    var sum = 0;
    for (var n = 1; n <= 11; n++) {
      var p = parseInt(first11.charAt(11 - n), 10);
      var q = n <= 6 ? n + 1 : n - 5;
      sum += p * q;
    }
    var r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
  }

  /* True when a run of exactly 12 digits (spaces and hyphens between digits ignored)
   * passes the My Number check digit: the same rule as the kiosk
   * (odekake.services.common.looks_like_my_number). A 23-digit 申請書ID passes. */
  function looksLikeMyNumber(text) {
    var joined = toHalfWidth(text).replace(/(\d)[\s\x1c-\x1f\x85\-\u30FC\uFF0D\u2010]+(?=\d)/g, "$1");
    var runs = joined.match(/\d+/g) || [];
    return runs.some(function (run) {
      return run.length === 12 &&
        myNumberCheckDigit(run.substr(0, 11)) === parseInt(run.charAt(11), 10);
    });
  }

  function birthValue(fieldset) {
    var prefix = fieldset.id.replace("svc-", "");
    var era = $(prefix + "-birth-era");
    if (!era) { return { value: "", error: "" }; }
    var y = toHalfWidth($(prefix + "-birth-year").value).trim();
    var m = toHalfWidth($(prefix + "-birth-month").value).trim();
    var d = toHalfWidth($(prefix + "-birth-day").value).trim();
    if (!era.value && !y && !m && !d) { return { value: "", error: "" }; }
    if (!era.value || !/^\d+$/.test(y) || !/^\d+$/.test(m) || !/^\d+$/.test(d)) {
      return { value: "", error: "元号・年・月・日をすべて数字で入力してください" };
    }
    var base = ERAS.filter(function (e) { return e[0] === era.value; })[0][1];
    var year = base === 0 ? parseInt(y, 10) : base + parseInt(y, 10) - 1;
    var dt = new Date(year, parseInt(m, 10) - 1, parseInt(d, 10));
    if (dt.getFullYear() !== year || dt.getMonth() !== parseInt(m, 10) - 1 ||
        dt.getDate() !== parseInt(d, 10)) {
      return { value: "", error: "存在しない日付です" };
    }
    if (dt > new Date() || year < 1900) { return { value: "", error: "生年月日が正しくありません" }; }
    var iso = year + "-" + ("0" + m).slice(-2) + "-" + ("0" + d).slice(-2);
    return { value: iso, error: "" };
  }

  /* 1948-05-06 → 昭和23年5月6日 (the era that was in force on that day). */
  function wareki(iso) {
    var p = iso.split("-").map(function (x) { return parseInt(x, 10); });
    var starts = [["令和", 2019, 5, 1], ["平成", 1989, 1, 8], ["昭和", 1926, 12, 25],
      ["大正", 1912, 7, 30], ["明治", 1868, 1, 25]];
    for (var i = 0; i < starts.length; i++) {
      var e = starts[i];
      if (p[0] > e[1] || (p[0] === e[1] && (p[1] > e[2] || (p[1] === e[2] && p[2] >= e[3])))) {
        var y = p[0] - e[1] + 1;
        return e[0] + (y === 1 ? "元" : y) + "年" + p[1] + "月" + p[2] + "日";
      }
    }
    return iso;
  }

  function clearErrors() {
    document.querySelectorAll(".error").forEach(function (p) { p.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    $("summary").hidden = true;
    $("summary").innerHTML = "";
  }

  function fail(errors, prefix, name, message) {
    errors.push([prefix + "-" + name, message]);
  }

  /* Python's str.strip(): the kiosk trims with it after NFKC (JS trim() differs). */
  var PY_SPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  var STRIP = new RegExp("^" + PY_SPACE + "+|" + PY_SPACE + "+$", "g");

  /* What the kiosk reads a typed value as: NFKC, then trimmed (odekake.services.common.normalise). */
  function normalise(text) {
    return text.normalize(RULES.normalise).replace(STRIP, "");
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, k) { return String(values[k]); });
  }

  var CATEGORY = {};
  RULES.unprintable.categories.forEach(function (c) { CATEGORY[c] = new RegExp("^\\p{" + c + "}$", "u"); });
  var SYMBOL = /^\p{So}$/u;

  function inRanges(code, ranges) {
    return ranges.some(function (r) { return r[0] <= code && code <= r[1]; });
  }

  /* The first emoji or control character as "U+XXXX" (odekake.services.common.unprintable). */
  function unprintable(text) {
    var chars = Array.from(text);
    for (var i = 0; i < chars.length; i++) {
      var ch = chars[i];
      var code = ch.codePointAt(0);
      var bad = Object.keys(CATEGORY).some(function (c) { return CATEGORY[c].test(ch); }) ||
        inRanges(code, RULES.unprintable.ranges) ||
        (SYMBOL.test(ch) && inRanges(code, RULES.unprintable.symbol_ranges));
      if (bad) {
        var hex = code.toString(16).toUpperCase();
        return "U+" + ("0000" + hex).slice(-Math.max(4, hex.length));
      }
    }
    return "";
  }

  /* A digit other than 0-9 after NFKC (e.g. Arabic-Indic): the kiosk would read it as a
   * number, the page cannot check it the same way, so it asks for 0-9. */
  function foreignDigit(text) { return /(?![0-9])\p{Nd}/u.test(text); }

  function phoneOk(text) {
    var digits = text.replace(/-/g, "");
    return new RegExp(RULES.phone.pattern).test(text) && /^[0-9]+$/.test(digits) &&
      digits.length >= RULES.phone.digits[0] && digits.length <= RULES.phone.digits[1];
  }

  /* One field by its rule; returns the value to carry (or "") and records any error. */
  function checkTyped(errors, prefix, name, label, rule, raw) {
    var value = normalise(raw);
    if (!value) { return ""; }
    var error = "";
    var bad = unprintable(value);
    if (looksLikeMyNumber(value)) {
      error = label + ": " + RULES.my_number.message;
    } else if (foreignDigit(value)) {
      error = label + "の数字は 0〜9 で入力してください";
    } else if (rule.kind === "phone") {
      if (!phoneOk(value)) { error = fmt(RULES.phone.message, { label: label }); }
    } else if (rule.kind === "integer") {
      var n = value.replace(/,/g, "");
      if (!/^[0-9]+$/.test(n) || +n < rule.lo || +n > rule.hi) {
        error = label + "は" + rule.lo + "〜" + rule.hi + "の数字で入力してください";
      }
    } else if (bad) {
      error = fmt(RULES.unprintable.message, { label: label, bad: bad });
    } else if (Array.from(value).length > rule.max_len) {
      error = fmt(RULES.text.too_long, { label: label, max_len: rule.max_len }) +
        "(いま" + Array.from(value).length + "文字)";
    } else if (rule.kind === "application_id") {
      var digits = value.replace(/[\s\-]/g, "");
      if (!/^[0-9]+$/.test(digits) || digits.length !== RULES.application_id_digits) {
        error = "申請書IDは" + RULES.application_id_digits + "桁の数字です(" + digits.length + "桁)";
      }
    }
    if (error) { fail(errors, prefix, name, error); return ""; }
    return value;
  }

  function collect() {
    var fieldset = $("svc-" + current);
    var prefix = current;
    var labels = CAT.services[current].labels;
    var fieldRules = RULES.fields[current];
    var values = {};
    var errors = [];
    Object.keys(labels).forEach(function (name) {
      var rule = fieldRules[name];
      var value = "";
      if (rule.kind === "birth_date") {
        var b = birthValue(fieldset);
        if (b.error) { fail(errors, prefix, name, labels[name] + ": " + b.error); }
        value = b.value;
        var req = fieldset.querySelector(".field.birth[data-required]");
        if (req && !value && !b.error) { fail(errors, prefix, name, labels[name] + "を入力してください"); }
      } else {
        var el = $(prefix + "-" + name);
        if (el && el.classList.contains("choices")) {
          value = radioValue(fieldset.id, name);
          if (!value && el.closest(".field").querySelector(".req")) {
            fail(errors, prefix, name, labels[name] + "を選んでください");
          }
        } else if (el && el.tagName === "SELECT") {
          value = el.value;
          if (!value && el.dataset.required) { fail(errors, prefix, name, labels[name] + "を選んでください"); }
        } else if (el) {
          var before = errors.length;
          value = checkTyped(errors, prefix, name, labels[name], rule, el.value);
          if (!value && errors.length === before && normalise(el.value) === "" && el.dataset.required) {
            fail(errors, prefix, name, labels[name] + "を入力してください");
          }
        }
      }
      if (value) { values[name] = value; }
    });
    if (current === "cert" && values.relation && values.relation !== "本人" && !values.subject_name) {
      fail(errors, prefix, "subject_name", "証明が必要な方の氏名を入力してください");
    }
    if (current === "cert" && values.relation === "本人") { delete values.subject_name; }
    return { values: values, errors: errors };
  }

  function showErrors(errors) {
    var summary = $("summary");
    var h = document.createElement("p");
    h.textContent = "入力内容を確認してください(" + errors.length + "件)";
    summary.appendChild(h);
    var ul = document.createElement("ul");
    errors.forEach(function (e) {
      var p = $(e[0] + "-error");
      if (p && !p.textContent) { p.textContent = e[1]; }
      var target = $(e[0]) || (p && p.closest(".field").querySelector("input, select"));
      if (target) { target.setAttribute("aria-invalid", "true"); }
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#" + (target ? target.id : e[0]);
      a.textContent = e[1];
      li.appendChild(a);
      ul.appendChild(li);
    });
    summary.appendChild(ul);
    summary.hidden = false;
    summary.focus();
  }

  /* --- the payload -------------------------------------------------------------- */

  var CRC_TABLE = (function () {
    var table = [];
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) { c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; }
      table.push(c >>> 0);
    }
    return table;
  })();

  function crc32(text) {
    var c = 0xFFFFFFFF;
    for (var i = 0; i < text.length; i++) {
      c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xFF] ^ (c >>> 8);
    }
    return ("00000000" + ((c ^ 0xFFFFFFFF) >>> 0).toString(16)).slice(-8);
  }

  function base64url(text) {
    var bytes = new TextEncoder().encode(text);
    var bin = "";
    bytes.forEach(function (b) { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + ("0" + (d.getMonth() + 1)).slice(-2) + "-" +
      ("0" + d.getDate()).slice(-2);
  }

  function payload(service, values) {
    var doc = { v: CAT.version, d: today(), s: service, f: values };
    var body = base64url(JSON.stringify(doc));
    return "ODK" + CAT.version + ":" + body + ":" + crc32(body);
  }

  function make() {
    clearErrors();
    if (!current) {
      showErrors([["service-" + Object.keys(CAT.services)[0], "手続きを選んでください"]]);
      return;
    }
    var got = collect();
    if (got.errors.length) { showErrors(got.errors); return; }
    var text = payload(current, got.values);
    var qr = qrcode(0, "M");
    qr.addData(text, "Byte");
    qr.make();
    var box = $("qr");
    box.innerHTML = qr.createSvgTag({ cellSize: 6, margin: 4, scalable: true,
      alt: "申請内容のQRコード" });
    box.dataset.payload = text;
    var contents = $("contents");
    contents.innerHTML = "";
    var add = function (k, v) {
      var dt = document.createElement("dt");
      dt.textContent = k;
      var dd = document.createElement("dd");
      dd.textContent = v;
      contents.appendChild(dt);
      contents.appendChild(dd);
    };
    add("手続き", CAT.services[current].title);
    Object.keys(got.values).forEach(function (name) {
      var v = got.values[name];
      var shown = v;
      var select = $(current + "-" + name);
      if (select && select.tagName === "SELECT") {
        /* Compared value by value: a value with a quote must never become a selector. */
        Array.prototype.forEach.call(select.options, function (o) {
          if (o.value === v) { shown = o.textContent; }
        });
      }
      if (name === "birth_date") { shown = wareki(v) + "(" + v + ")"; }
      add(CAT.services[current].labels[name], shown);
    });
    add("作成日", today());
    $("expiry").textContent = "このQRコードは作成日から" + CAT.max_age_days + "日間使えます。";
    $("request").hidden = true;
    $("result").hidden = false;
    $("result").querySelector("h2").focus();
  }

  setup();
})();

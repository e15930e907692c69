// The board: fetch the rows every second, swap them in when they change, mark new
// alerts and sound a cue; keep every age ticking. No framework, nothing fetched
// from elsewhere.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var board = document.getElementById("board");
  var offset = 0; // the server's clock minus this device's, in ms

  function serverNow() {
    return Date.now() + offset;
  }

  function readOffset(serverNow) {
    if (serverNow) offset = Date.parse(serverNow) - Date.now();
  }

  function tickAges() {
    var unit = board ? board.getAttribute("data-minutes") : "min";
    var ages = document.querySelectorAll("time[data-received]");
    for (var i = 0; i < ages.length; i++) {
      var received = Date.parse(ages[i].getAttribute("data-received"));
      var minutes = Math.max(0, Math.floor((serverNow() - received) / 60000));
      ages[i].textContent = minutes + " " + unit;
    }
  }

  // Sound: a browser plays nothing until a person has pressed something on the
  // page, so the desk turns it on once per sign-in with the button.
  var sound = document.getElementById("sound");
  var audio = null;

  function soundIsOn() {
    return audio !== null && audio.state === "running";
  }

  function showSound() {
    if (!sound) return;
    var on = soundIsOn();
    sound.setAttribute("aria-pressed", on ? "true" : "false");
    sound.textContent = sound.getAttribute(on ? "data-on" : "data-off");
  }

  function toggleSound() {
    if (soundIsOn()) {
      audio.suspend().then(showSound);
      return;
    }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    audio.resume().then(showSound);
  }

  function beep() {
    if (!soundIsOn()) return false;
    var start = audio.currentTime;
    for (var i = 0; i < 3; i++) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = i % 2 ? 660 : 880;
      gain.gain.value = 0.2;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start(start + i * 0.25);
      tone.stop(start + i * 0.25 + 0.18);
    }
    return true;
  }

  // New alerts: highlight the row, say so in a live region and the title, beep.
  var seen = null;
  var unseen = 0;
  var baseTitle = document.title;

  function refs(container) {
    var found = {};
    var rows = container.querySelectorAll("tr[data-ref]");
    for (var i = 0; i < rows.length; i++) {
      found[rows[i].getAttribute("data-ref")] = rows[i];
    }
    return found;
  }

  function markNew(container) {
    var now = refs(container);
    var fresh = [];
    for (var ref in now) {
      if (seen !== null && !(ref in seen)) {
        fresh.push(ref);
        now[ref].classList.add("is-new");
      }
    }
    seen = now;
    if (!fresh.length) return;

    unseen += fresh.length;
    document.title = "(" + unseen + ") " + baseTitle;
    var cue = document.getElementById("cue");
    cue.textContent = cue.getAttribute("data-label") + ": " + fresh.join(", ");
    cue.hidden = false;
    var played = beep();
    document.body.setAttribute(
      "data-cues",
      String(Number(document.body.getAttribute("data-cues") || 0) + 1)
    );
    document.body.setAttribute("data-last-cue-sound", played ? "yes" : "no");
  }

  function clearUnseen() {
    unseen = 0;
    document.title = baseTitle;
  }

  var etag = null;

  function showOnline(current) {
    document.getElementById("offline").hidden = current;
    if (!current) return;
    var updated = document.getElementById("updated");
    var time = new Date().toLocaleTimeString("en-GB", {
      timeZone: "Asia/Kolkata",
      hour12: false,
    });
    updated.textContent = updated.getAttribute("data-label") + " " + time + " IST";
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(board.getAttribute("data-src"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: headers,
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/console/sign-in?expired=1");
          return null;
        }
        // A proxy's 502, a 503: the board is not current, and the desk must know.
        var current = response.ok || response.status === 304;
        showOnline(current);
        readOffset(response.headers.get("X-Server-Now"));
        if (!current || response.status === 304) return null;
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var keep = {};
        var marked = board.querySelectorAll("tr.is-new[data-ref]");
        for (var i = 0; i < marked.length; i++) {
          keep[marked[i].getAttribute("data-ref")] = true;
        }
        board.innerHTML = html;
        var rows = refs(board);
        for (var ref in keep) {
          if (rows[ref]) rows[ref].classList.add("is-new");
        }
        markNew(board);
        tickAges();
      })
      .catch(function () {
        showOnline(false);
      })
      .then(function () {
        window.setTimeout(poll, POLL_MS);
      });
  }

  if (sound) {
    sound.addEventListener("click", toggleSound);
    showSound();
  }
  if (board) {
    readOffset(board.getAttribute("data-server-now"));
    seen = refs(board);
    window.setTimeout(poll, POLL_MS);
    window.addEventListener("focus", clearUnseen);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) clearUnseen();
    });
  }
  tickAges();
  window.setInterval(tickAges, 15000);
})();

// Parley call SDK loader. Include with <script src="/parley.js"></script>.
// window.Parley exposes the call API. Every method returns a Promise that never
// rejects: it resolves to {statusCode, message, data?} (getCallUsername to the
// name). `await Parley.ready` resolves to {statusCode: 200, message} once the
// WebAssembly engine runs (methods called earlier wait for it), or to
// {statusCode: 100620, message} when the engine cannot load; every method then
// resolves to that same envelope.
(function () {
  "use strict";
  if (window.Parley) return;
  var script = document.currentScript;
  var base = script && script.src ? new URL(".", script.src).href : location.origin + "/";
  // The server writes its build's version here; files asked for with it are
  // cached for a year.
  var version = /*PARLEY_VERSION*/"";
  var v = version ? "?v=" + encodeURIComponent(version) : "";
  // Keep in step with app/sdk/methods.go (app/sdk/methods_test.go checks).
  var methods = [
    "initializeSDK", "register", "connect", "logout",
    "getSessions", "endSession", "logoutOtherSessions",
    "makeVoiceCall", "makeVideoCall", "answerCall", "declineCall", "endCall",
    "inviteUsers", "getCallLogs",
    "blockUser", "unblockUser", "getBlockedUsers",
    "muteAudio", "muteVideo", "isUserAudioMuted", "isUserVideoMuted",
    "requestVideoCallSwitch", "cancelVideoCallSwitchRequest",
    "acceptVideoCallSwitchRequest", "declineVideoCallSwitchRequest",
    "sendCustomData", "getCallLink", "subscribeCall", "joinCall", "unsubscribeCall",
    "getCallUsername", "showCallNotification", "createMeetLink",
    "admitUser", "denyUser",
    "shareScreen", "stopScreenShare",
    "getPushPublicKey", "registerPushSubscription", "unregisterPushSubscription"
  ];
  var UNREACHABLE = 100620, INTERNAL = 500;

  function envelope(code, message) { return { statusCode: code, message: message }; }
  function reason(err) {
    if (err && typeof err.message === "string" && err.message) return err.message;
    try { return String(err); } catch (e) { return "unknown error"; }
  }

  var impl = null;    // the wasm's method object, once it runs
  var failure = null; // the envelope every call gets when the engine could not load
  var go = null;      // the Go instance, to see whether the program exited
  var settleReady;
  var ready = new Promise(function (res) { settleReady = res; });
  // stopped resolves once the engine stops after it started, so that calls it
  // will never answer still resolve.
  var settleStopped;
  var stopped = new Promise(function (res) { settleStopped = res; });
  function stoppedEnvelope() {
    return envelope(INTERNAL, "The Parley engine stopped (see the browser console); reload the page to start it again.");
  }

  function loadFailed(err) {
    if (impl || failure) return;
    failure = envelope(UNREACHABLE, "The Parley engine could not load from " + base + " (" + reason(err) +
      "); check that this page can reach the Parley server, then reload.");
    settleReady(failure);
  }

  // The wasm calls this once with its implementation object.
  Object.defineProperty(window, "__parleyReady", {
    configurable: true,
    value: function (obj) {
      if (failure || impl) return;
      impl = obj;
      settleReady(envelope(200, "Parley is ready."));
    }
  });

  function invoke(name, args) {
    if (failure) return failure;
    if (!impl || (go && go.exited)) return stoppedEnvelope();
    var fn = impl[name];
    if (typeof fn !== "function") {
      return envelope(INTERNAL, "This Parley engine has no method " + name + "; reload the page to load the current one.");
    }
    var out = fn.apply(null, args);
    // A panic in the engine ends the Go program inside this very call.
    if (go && go.exited) return stoppedEnvelope();
    return Promise.race([out, stopped]);
  }

  var api = { ready: ready, version: "1" };
  methods.forEach(function (name) {
    api[name] = function () {
      var args = Array.prototype.slice.call(arguments);
      return ready
        .then(function () { return invoke(name, args); })
        .then(null, function (err) {
          return envelope(INTERNAL, "Parley." + name + " failed inside the engine: " + reason(err));
        });
    };
  });
  window.Parley = api;

  function loadScript(src) {
    return new Promise(function (res, rej) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = res;
      s.onerror = function () { rej(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }

  function instantiate(url, imports) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      var wasmType = (r.headers.get("Content-Type") || "").indexOf("application/wasm") === 0;
      if (WebAssembly.instantiateStreaming && wasmType) return WebAssembly.instantiateStreaming(r, imports);
      return r.arrayBuffer().then(function (b) { return WebAssembly.instantiate(b, imports); });
    });
  }

  try {
    if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
    (typeof Go === "function" ? Promise.resolve() : loadScript(base + "wasm_exec.js" + v))
      .then(function () {
        if (typeof Go !== "function") throw new Error(base + "wasm_exec.js did not define Go");
        go = new Go();
        return instantiate(base + "web/sdk.wasm" + v, go.importObject);
      })
      .then(function (r) {
        // run settles when the Go program exits: before it was ready that is
        // a failure to load, afterwards the engine stopped.
        var onExit = function (err) {
          if (!impl) { loadFailed(err || new Error("the engine exited while starting")); return; }
          settleStopped(stoppedEnvelope());
        };
        go.run(r.instance).then(function () { onExit(null); }, onExit);
      })
      .then(null, loadFailed);
  } catch (err) {
    loadFailed(err);
  }
})();

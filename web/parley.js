// Parley call SDK loader. Include with <script src="/parley.js"></script>.
// window.Parley exposes the call API; every method returns a Promise that
// resolves to {statusCode, message, data?}. `await Parley.ready` resolves once
// the WebAssembly engine runs (methods called earlier wait for it).
(function () {
  "use strict";
  if (window.Parley) return;
  var script = document.currentScript;
  var base = script && script.src ? new URL(".", script.src).href : location.origin + "/";
  var methods = [
    "initializeSDK", "register", "connect", "logout",
    "makeVoiceCall", "makeVideoCall", "answerCall", "declineCall", "endCall",
    "muteAudio", "muteVideo", "isUserAudioMuted", "isUserVideoMuted",
    "getCallLogs", "showCallNotification", "getCallLink",
    "inviteUsers", "requestVideoCallSwitch", "cancelVideoCallSwitchRequest",
    "acceptVideoCallSwitchRequest", "declineVideoCallSwitchRequest", "sendCustomData",
    "subscribeCall", "joinCall", "unsubscribeCall", "getCallUsername", "createMeetLink"
  ];
  var impl = null;
  var readyResolve, readyReject;
  var ready = new Promise(function (res, rej) { readyResolve = res; readyReject = rej; });
  // The wasm calls this once with its implementation object.
  Object.defineProperty(window, "__parleyReady", {
    configurable: true,
    value: function (obj) { impl = obj; readyResolve(window.Parley); }
  });
  var api = { ready: ready, version: "1" };
  methods.forEach(function (name) {
    api[name] = function () {
      var args = arguments;
      return ready.then(function () { return impl[name].apply(null, args); });
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
  (typeof Go === "function" ? Promise.resolve() : loadScript(base + "wasm_exec.js"))
    .then(function () {
      var go = new Go();
      var url = base + "web/sdk.wasm";
      var inst = WebAssembly.instantiateStreaming
        ? WebAssembly.instantiateStreaming(fetch(url), go.importObject)
        : fetch(url).then(function (r) { return r.arrayBuffer(); })
            .then(function (b) { return WebAssembly.instantiate(b, go.importObject); });
      return inst.then(function (r) { go.run(r.instance); });
    })
    .catch(function (err) { readyReject(err); });
})();

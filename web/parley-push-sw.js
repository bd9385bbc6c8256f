// Parley Web Push for service workers: rings a closed app.
//
// Parley's own service worker includes this file. An integrator with their
// own service worker imports it:
//
//   importScripts("<your Parley server's origin>/parley-push-sw.js");
//
// and, from a page after sign-in, hands the worker the session it declines
// calls with (kept in IndexedDB; a token of "" forgets it):
//
//   (await navigator.serviceWorker.ready).active.postMessage({
//     type: "parley.push.session", server: "<your Parley server's origin>",
//     token: sessionToken, appUrl: "<the page that answers, e.g. your call page>" });
//
// A push whose JSON payload has a type starting with "parley." is handled
// here and hidden from the worker's other push listeners: "parley.ring"
// shows "<name> is calling (video)" with Answer and Decline until acted on;
// "parley.stop" closes it and, for a missed call, shows "Missed call from
// <name>". Answer opens (or navigates an open window of the app to)
// appUrl?answer=<roomId>; Decline posts to <server>/api/push/decline with
// the token as a bearer, without opening a window. A page may act on a
// shown call as a click would by posting
// {type: "parley.push.action", roomId, action: "answer" | "decline"}.
(() => {
  "use strict";
  const DB = "parley-push";
  const KV = "kv";
  const tagOf = (roomId) => "parley-call-" + roomId;

  function openDB() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(KV);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function kv(mode, fn) {
    const db = await openDB();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(KV, mode);
        const req = fn(tx.objectStore(KV));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const getSession = () => kv("readonly", (s) => s.get("session"));
  const setSession = (v) => kv("readwrite", (s) => (v ? s.put(v, "session") : s.delete("session")));

  async function onPush(msg) {
    const reg = self.registration;
    const tag = tagOf(msg.roomId);
    if (msg.type === "parley.ring") {
      await reg.showNotification(msg.title || "Incoming call", {
        body: msg.body || "",
        tag: tag,
        renotify: true,
        requireInteraction: true,
        icon: "/web/icon-192.png",
        actions: [
          { action: "answer", title: "Answer" },
          { action: "decline", title: "Decline" },
        ],
        data: { parley: msg },
      });
      return;
    }
    if (msg.type === "parley.stop") {
      for (const n of await reg.getNotifications({ tag: tag })) {
        n.close();
      }
      if (msg.reason === "missed" && msg.title) {
        await reg.showNotification(msg.title, {
          body: msg.body || "",
          tag: "parley-missed-" + msg.roomId,
          icon: "/web/icon-192.png",
          data: { parley: msg },
        });
      }
    }
  }

  // act is what a click on a Parley notification does, and what a
  // "parley.push.action" message asks for: action is "answer", "decline"
  // or "" (the notification's body: open the app).
  async function act(msg, action) {
    const session = await getSession();
    if (action === "decline" && msg.type === "parley.ring") {
      if (!session || !session.token) {
        throw new Error("parley: no session to decline with");
      }
      const res = await fetch(session.server + "/api/push/decline", {
        method: "POST",
        headers: { "Authorization": "Bearer " + session.token, "Content-Type": "application/json" },
        body: JSON.stringify({ roomId: msg.roomId }),
      });
      if (!res.ok && res.status !== 409) {
        throw new Error("parley: decline answered " + res.status);
      }
      return;
    }
    const base = (session && session.appUrl) || self.registration.scope;
    const url = new URL(base);
    if (action === "answer" && msg.type === "parley.ring") {
      url.searchParams.set("answer", msg.roomId);
    }
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const w of wins) {
      if (new URL(w.url).origin !== url.origin) {
        continue;
      }
      try {
        const moved = await w.navigate(url.href);
        await (moved || w).focus().catch(() => {});
        return;
      } catch (err) {
        // Not controlled by this worker: tell it instead.
        w.postMessage({ type: "parley.push.open", url: url.href, roomId: msg.roomId, action: action });
        await w.focus().catch(() => {});
        return;
      }
    }
    await self.clients.openWindow(url.href);
  }

  self.addEventListener("push", (event) => {
    let msg = null;
    try {
      msg = event.data ? event.data.json() : null;
    } catch (err) {
      msg = null;
    }
    if (!msg || typeof msg.type !== "string" || !msg.type.startsWith("parley.")) {
      return;
    }
    event.stopImmediatePropagation();
    event.waitUntil(onPush(msg));
  });

  self.addEventListener("notificationclick", (event) => {
    const msg = event.notification.data && event.notification.data.parley;
    if (!msg) {
      return;
    }
    event.stopImmediatePropagation();
    event.notification.close();
    event.waitUntil(act(msg, event.action || ""));
  });

  self.addEventListener("message", (event) => {
    const m = event.data;
    if (!m || typeof m.type !== "string" || !m.type.startsWith("parley.push.")) {
      return;
    }
    event.stopImmediatePropagation();
    const reply = (v) => event.ports && event.ports[0] && event.ports[0].postMessage(v);
    let work;
    if (m.type === "parley.push.session") {
      work = setSession(m.token ? { server: m.server || self.location.origin, token: m.token, appUrl: m.appUrl || "" } : null);
    } else if (m.type === "parley.push.action") {
      work = (async () => {
        const shown = await self.registration.getNotifications({ tag: tagOf(m.roomId) });
        if (shown.length === 0) {
          throw new Error("parley: no notification for " + m.roomId);
        }
        const n = shown[0];
        n.close();
        await act(n.data.parley, m.action || "");
      })();
    } else {
      return;
    }
    event.waitUntil(
      work.then(() => reply({ ok: true }), (err) => reply({ ok: false, error: String(err) }))
    );
  });
})();

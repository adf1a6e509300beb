// Pages opened from disk (file://) may not start a Web Worker, and the site's search runs in one.
// There, a hidden iframe stands in for the worker: it runs the same script, and messages pass
// between the page and the script as they would to and from a worker (asynchronously, in order).
// Served pages (http, https) keep the browser's own Worker.
(function () {
  "use strict";
  if (window.location.protocol !== "file:") {
    return;
  }

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.onerror = null;
      this._ready = false;
      this._queued = []; // messages posted before the script has run
      this._frame = document.createElement("iframe");
      this._frame.style.display = "none";
      (document.body || document.documentElement).appendChild(this._frame);
      const scope = this._frame.contentWindow;
      // What the script posts (postMessage(data) inside a worker) comes out of this object.
      scope.postMessage = (data) => this._emit("message", data);
      const script = scope.document.createElement("script");
      script.src = new URL(url, document.baseURI).href;
      script.onload = () => {
        this._ready = true;
        this._queued.splice(0).forEach((data) => this.postMessage(data));
      };
      script.onerror = () => this._emit("error", `cannot load ${script.src}`);
      scope.document.head.appendChild(script);
    }

    postMessage(data) {
      if (!this._ready) {
        this._queued.push(data);
        return;
      }
      const scope = this._frame.contentWindow;
      setTimeout(() => scope.dispatchEvent(new scope.MessageEvent("message", { data })), 0);
    }

    terminate() {
      this._frame.remove();
    }

    _emit(type, data) {
      setTimeout(() => {
        const event = type === "message" ? new MessageEvent("message", { data })
                                         : new ErrorEvent("error", { message: data });
        const handler = type === "message" ? this.onmessage : this.onerror;
        if (typeof handler === "function") {
          handler.call(this, event);
        }
        this.dispatchEvent(event);
      }, 0);
    }
  }

  window.Worker = FrameWorker;
})();

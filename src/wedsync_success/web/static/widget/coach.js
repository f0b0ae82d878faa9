/* WedSync coach widget: coaching cards (InAppCoach) and milestone celebrations
   (MilestoneCard) inside a supplier's WedSync app. No framework, no inline anything.

   Embed:
     <link rel="stylesheet" href="https://SUCCESS-HOST/static/widget/coach.css">
     <div data-wedsync-coach data-token="WIDGET TOKEN" data-user="SUPPLIER USER ID"></div>
     <script src="https://SUCCESS-HOST/static/widget/coach.js" defer></script>

   data-token: a short-lived widget token minted by the host app's backend (update the
   attribute to renew it; the widget reads it on every request and fires
   "wedsync-coach:unauthorised" on the element when it is refused). data-user keys the
   local copy; data-poll-seconds (default 10); data-endpoint (default: this script's origin).

   Offline first: the cursor, the cards on screen and the marks not yet delivered are kept
   in localStorage, so the cards show without a network and marks are sent when it returns
   (the server records each mark once, so sending one twice is harmless). Message text only
   ever reaches the page through textContent. */
(function () {
  "use strict";

  const script = document.currentScript;
  const DEFAULT_ENDPOINT = script && script.src ? new URL(script.src).origin : window.location.origin;
  const ACTIONS = ["seen", "clicked", "dismissed"];
  const MIN_POLL_SECONDS = 1;

  /* An http(s) address, or null: never javascript:, data: or anything else. */
  function safeUrl(value) {
    if (typeof value !== "string" || value === "") return null;
    let url;
    try {
      url = new URL(value, window.location.href);
    } catch (_) {
      return null;
    }
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  }

  function text(tag, className, value) {
    const node = document.createElement(tag);
    node.className = className;
    node.textContent = value == null ? "" : String(value);
    return node;
  }

  class Store {
    constructor(user) {
      this.key = "wedsync-coach:" + user;
    }

    load() {
      try {
        const raw = window.localStorage.getItem(this.key);
        const data = raw ? JSON.parse(raw) : null;
        if (data && typeof data === "object") {
          return {
            cursor: Number.isSafeInteger(data.cursor) ? data.cursor : null,
            messages: Array.isArray(data.messages) ? data.messages.filter(validMessage) : [],
            outbox: Array.isArray(data.outbox) ? data.outbox.filter(validMark) : [],
          };
        }
      } catch (_) {
        /* storage blocked or damaged: start afresh */
      }
      return { cursor: null, messages: [], outbox: [] };
    }

    save(state) {
      try {
        window.localStorage.setItem(this.key, JSON.stringify(state));
      } catch (_) {
        /* storage full or blocked: the widget still works while the page is open */
      }
    }
  }

  function validMessage(m) {
    return m && Number.isSafeInteger(m.id) && typeof m.title === "string";
  }

  function validMark(m) {
    return m && Number.isSafeInteger(m.id) && ACTIONS.includes(m.action);
  }

  class RequestFailed extends Error {
    constructor(status) {
      super("request failed: " + status);
      this.status = status;
    }
  }

  class Coach {
    constructor(root) {
      this.root = root;
      this.endpoint = (root.dataset.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, "");
      const seconds = Number(root.dataset.pollSeconds || 10);
      this.pollMs = Math.max(MIN_POLL_SECONDS, Number.isFinite(seconds) ? seconds : 10) * 1000;
      this.store = new Store(root.dataset.user || "default");
      this.state = this.store.load();
      this.cards = new Map();
      this.timer = null;
      this.polling = null;
      this.flushing = null;
      this.observer = "IntersectionObserver" in window
        ? new IntersectionObserver((entries) => this.onVisible(entries), { threshold: 0.5 })
        : null;
      this.build();
      for (const message of this.state.messages) this.render(message, false);
      this.updateEmpty();
      window.addEventListener("online", () => this.poll());
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this.poll();
      });
      this.poll();
    }

    build() {
      this.root.classList.add("wsc");
      this.root.dataset.state = "connecting";
      this.milestones = document.createElement("div");
      this.milestones.className = "wsc-region wsc-milestones";
      this.milestones.setAttribute("aria-live", "polite");
      this.coaching = document.createElement("div");
      this.coaching.className = "wsc-region wsc-coaching";
      this.coaching.setAttribute("aria-live", "polite");
      this.empty = text("p", "wsc-empty", "You're all caught up.");
      this.root.replaceChildren(this.milestones, this.coaching, this.empty);
    }

    async request(method, path) {
      const response = await fetch(this.endpoint + path, {
        method: method,
        headers: { Authorization: "Bearer " + (this.root.dataset.token || ""), Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
        keepalive: method === "POST",
      });
      if (!response.ok) {
        if (response.status === 401) {
          this.root.dispatchEvent(new CustomEvent("wedsync-coach:unauthorised", { bubbles: true }));
        }
        throw new RequestFailed(response.status);
      }
      return response.json();
    }

    /* One pull at a time: deliver pending marks, then fetch every page after the cursor. */
    poll() {
      if (!this.polling) {
        window.clearTimeout(this.timer);
        this.polling = this.pull().finally(() => {
          this.polling = null;
          this.timer = window.setTimeout(() => this.poll(), this.pollMs);
        });
      }
      return this.polling;
    }

    async pull() {
      try {
        await this.flush();
        let more = true;
        while (more) {
          const query = this.state.cursor == null ? "" : "?after=" + this.state.cursor;
          const page = await this.request("GET", "/widget/v1/messages" + query);
          for (const message of page.items) this.receive(message);
          if (Number.isSafeInteger(page.next_cursor)) this.state.cursor = page.next_cursor;
          more = page.has_more === true && page.items.length > 0;
        }
        this.save();
        this.root.dataset.state = "live";
      } catch (error) {
        this.root.dataset.state = error instanceof RequestFailed && error.status === 401
          ? "unauthorised"
          : "offline";
      }
    }

    receive(message) {
      if (!validMessage(message)) return;
      const known = this.state.messages.find((m) => m.id === message.id);
      if (message.dismissed_at) {
        this.forget(message.id);
      } else if (known) {
        Object.assign(known, message);
      } else if (!this.state.outbox.some((m) => m.id === message.id && m.action === "dismissed")) {
        this.state.messages.push(message);
        this.render(message, true);
      }
      this.updateEmpty();
    }

    render(message, fresh) {
      const celebration = message.kind === "celebration";
      const card = document.createElement("article");
      card.className = "wsc-card " + (celebration ? "wsc-milestone-card" : "wsc-coach-card");
      if (fresh) card.classList.add("wsc-new");
      card.dataset.messageId = String(message.id);
      card.dataset.kind = celebration ? "celebration" : "coach";
      const eyebrow = text("p", "wsc-eyebrow", celebration ? "Milestone reached" : "Tip from WedSync");
      if (celebration) eyebrow.prepend(text("span", "wsc-badge", "\u2605"));
      card.append(eyebrow, text("h3", "wsc-title", message.title), text("p", "wsc-body", message.body));
      const href = safeUrl(message.cta_url);
      if (href && message.cta_label) {
        const cta = text("a", "wsc-cta", message.cta_label);
        cta.href = href;
        if (new URL(href).origin !== window.location.origin) {
          cta.target = "_blank";
          cta.rel = "noopener noreferrer";
        }
        cta.addEventListener("click", () => this.act(message.id, "clicked"));
        card.append(cta);
      }
      const dismiss = text("button", "wsc-dismiss", "\u00D7");
      dismiss.type = "button";
      dismiss.setAttribute("aria-label", "Dismiss: " + message.title);
      dismiss.addEventListener("click", () => {
        this.forget(message.id);
        this.updateEmpty();
        this.act(message.id, "dismissed");
      });
      card.append(dismiss);
      (celebration ? this.milestones : this.coaching).prepend(card);
      this.cards.set(message.id, card);
      if (!message.seen_at) {
        if (this.observer) this.observer.observe(card);
        else this.seen(message.id);
      }
    }

    onVisible(entries) {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          this.observer.unobserve(entry.target);
          this.seen(Number(entry.target.dataset.messageId));
        }
      }
    }

    seen(id) {
      const message = this.state.messages.find((m) => m.id === id);
      if (message && !message.seen_at) {
        message.seen_at = new Date().toISOString();
        this.act(id, "seen");
      }
    }

    forget(id) {
      const card = this.cards.get(id);
      if (card) {
        if (this.observer) this.observer.unobserve(card);
        card.remove();
        this.cards.delete(id);
      }
      this.state.messages = this.state.messages.filter((m) => m.id !== id);
    }

    updateEmpty() {
      this.empty.hidden = this.cards.size > 0;
    }

    act(id, action) {
      if (!this.state.outbox.some((m) => m.id === id && m.action === action)) {
        this.state.outbox.push({ id: id, action: action });
      }
      this.save();
      this.flush().catch(() => {
        this.root.dataset.state = "offline";
      });
    }

    /* Send the marks not yet delivered, oldest first; stop at the first that cannot go. */
    flush() {
      if (!this.flushing) {
        this.flushing = this.deliver().finally(() => {
          this.flushing = null;
        });
      }
      return this.flushing;
    }

    async deliver() {
      while (this.state.outbox.length) {
        const mark = this.state.outbox[0];
        try {
          await this.request("POST", "/widget/v1/messages/" + mark.id + "/" + mark.action);
        } catch (error) {
          const gone = error instanceof RequestFailed && (error.status === 404 || error.status === 422);
          if (!gone) throw error;
        }
        this.state.outbox.shift();
        this.save();
      }
    }

    save() {
      this.store.save(this.state);
    }
  }

  function mount(root) {
    if (root && !root.wedsyncCoach) root.wedsyncCoach = new Coach(root);
    return root && root.wedsyncCoach;
  }

  window.WedSyncCoach = { mount: mount };
  for (const root of document.querySelectorAll("[data-wedsync-coach]")) mount(root);
})();

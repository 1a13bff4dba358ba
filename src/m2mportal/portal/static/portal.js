// The portal's page script: dialogs of "My Partner Data > REST API" and the application
// page. Every call sends the session's CSRF token (X-CSRF-Token); the server refuses
// calls without it. No inline script or style: the Content-Security-Policy forbids them.
"use strict";

(function () {
  const MAX_ADDRESSES = 10;
  const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  async function call(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const answer = await fetch("/portal/api/" + path, options);
    let data = null;
    try {
      data = await answer.json();
    } catch (e) {
      data = null;
    }
    if (!answer.ok) {
      const errors = data && data.errors ? data.errors : [answer.status + " " + answer.statusText];
      throw new Error(errors.join("; "));
    }
    return data;
  }

  function show(element, text) {
    element.textContent = text;
    element.hidden = !text;
  }

  function errorOf(dialog) {
    return dialog.querySelector(".error");
  }

  function copyButtons(root) {
    root.querySelectorAll("button.copy").forEach(function (button) {
      button.addEventListener("click", async function () {
        const code = button.parentElement.querySelector(".secret");
        try {
          await navigator.clipboard.writeText(code.textContent);
          button.textContent = "Copied";
        } catch (e) {
          // No clipboard (an insecure origin): select the text for Ctrl+C instead.
          const range = document.createRange();
          range.selectNodeContents(code);
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
          button.textContent = "Selected: press Ctrl+C";
        }
      });
    });
  }

  function cancelButtons(dialog) {
    dialog.querySelectorAll("button.cancel, button.close").forEach(function (button) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    });
  }

  // ---- My Partner Data > REST API ----------------------------------------------------

  function overview(table) {
    const dialogs = {
      name: document.getElementById("dlg-name"),
      details: document.getElementById("dlg-details"),
      subunits: document.getElementById("dlg-subunits"),
      confirm: document.getElementById("dlg-confirm"),
      created: document.getElementById("dlg-created"),
      remove: document.getElementById("dlg-delete"),
    };
    Object.values(dialogs).forEach(cancelButtons);
    copyButtons(dialogs.created);
    const draft = { name: "", readOnly: false, ipWhitelist: [], userType: "Standard", subunits: [] };
    const ipList = document.getElementById("ip-list");
    const ipInput = document.getElementById("ip-new");
    const ipAdd = document.getElementById("ip-add");
    const ipMessage = document.getElementById("ip-message");
    const readOnly = document.getElementById("read-only");
    const chosen = document.getElementById("chosen-subunits");
    const trashIcon = document.getElementById("trash-icon");
    let pending = null; // the application the delete popup asks about

    function renderAddresses() {
      ipList.replaceChildren();
      draft.ipWhitelist.forEach(function (address) {
        const item = document.createElement("li");
        const text = document.createElement("span");
        text.className = "mono";
        text.textContent = address;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "icon remove-ip";
        remove.setAttribute("aria-label", "Remove " + address);
        remove.append(trashIcon.content.cloneNode(true));
        remove.addEventListener("click", function () {
          draft.ipWhitelist = draft.ipWhitelist.filter(function (a) {
            return a !== address;
          });
          show(ipMessage, "");
          renderAddresses();
        });
        item.append(text, " ", remove);
        ipList.append(item);
      });
      ipAdd.disabled = draft.ipWhitelist.length >= MAX_ADDRESSES;
      ipInput.disabled = ipAdd.disabled;
      if (ipAdd.disabled) {
        show(ipMessage, "At most ten IPv4 addresses: remove one to add another.");
      }
    }

    function addAddress() {
      const address = ipInput.value.trim();
      if (draft.ipWhitelist.length >= MAX_ADDRESSES) {
        show(ipMessage, "At most ten IPv4 addresses: remove one to add another.");
      } else if (!IPV4.test(address)) {
        show(ipMessage, "'" + address + "' is not an IPv4 address (four numbers 0-255, e.g. 203.0.113.7).");
      } else if (draft.ipWhitelist.includes(address)) {
        show(ipMessage, address + " is already on the whitelist.");
      } else {
        draft.ipWhitelist.push(address);
        ipInput.value = "";
        show(ipMessage, "");
        renderAddresses();
        if (!ipInput.disabled) ipInput.focus();
      }
    }
    ipAdd.addEventListener("click", addAddress);
    ipInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        addAddress();
      }
    });

    function subunitNames() {
      return Array.from(dialogs.subunits.querySelectorAll("input.subunit"))
        .filter(function (box) {
          return draft.subunits.includes(Number(box.value));
        })
        .map(function (box) {
          return box.dataset.name;
        });
    }

    document.getElementById("register").addEventListener("click", function () {
      Object.assign(draft, { name: "", readOnly: false, ipWhitelist: [], userType: "Standard", subunits: [] });
      document.getElementById("app-name").value = "";
      readOnly.checked = false;
      ipInput.value = "";
      show(ipMessage, "");
      show(chosen, "");
      dialogs.details.querySelector('input[value="Standard"]').checked = true;
      dialogs.subunits.querySelectorAll("input.subunit").forEach(function (box) {
        box.checked = false;
      });
      renderAddresses();
      show(errorOf(dialogs.name), "");
      dialogs.name.showModal();
    });

    dialogs.name.querySelector(".save").addEventListener("click", function () {
      const name = document.getElementById("app-name").value.trim();
      if (!name) {
        show(errorOf(dialogs.name), "Enter a name for the application.");
        return;
      }
      draft.name = name;
      dialogs.name.close();
      dialogs.details.querySelector(".app-name").textContent = name;
      dialogs.details.showModal();
    });
    document.getElementById("app-name").addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        dialogs.name.querySelector(".save").click();
      }
    });

    dialogs.details.querySelectorAll('input[name="user-type"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        draft.userType = radio.value;
        if (radio.value === "Subunit") {
          show(errorOf(dialogs.subunits), "");
          dialogs.subunits.showModal();
        } else {
          draft.subunits = [];
          show(chosen, "");
        }
      });
    });
    dialogs.subunits.querySelector(".save").addEventListener("click", function () {
      const picked = Array.from(dialogs.subunits.querySelectorAll("input.subunit:checked")).map(function (box) {
        return Number(box.value);
      });
      if (!picked.length) {
        show(errorOf(dialogs.subunits), "Choose at least one subunit.");
        return;
      }
      draft.subunits = picked;
      show(chosen, "Subunits: " + subunitNames().join(", "));
      dialogs.subunits.close();
    });
    dialogs.subunits.addEventListener("close", function () {
      if (draft.userType === "Subunit" && !draft.subunits.length) {
        // Closed without choosing: back to a standard user.
        draft.userType = "Standard";
        dialogs.details.querySelector('input[value="Standard"]').checked = true;
      }
    });

    dialogs.details.querySelector(".save").addEventListener("click", function () {
      draft.readOnly = readOnly.checked;
      const facts = [
        ["Name", draft.name],
        ["Read only", draft.readOnly ? "Yes" : "No"],
        ["IP whitelist", draft.ipWhitelist.length ? draft.ipWhitelist.join(", ") : "any address"],
        ["User type", draft.userType === "Subunit" ? "Subunit user: " + subunitNames().join(", ") : "Standard"],
      ];
      const list = dialogs.confirm.querySelector(".summary");
      list.replaceChildren();
      facts.forEach(function (fact) {
        const term = document.createElement("dt");
        term.textContent = fact[0];
        const value = document.createElement("dd");
        value.textContent = fact[1];
        list.append(term, value);
      });
      show(errorOf(dialogs.confirm), "");
      dialogs.details.close();
      dialogs.confirm.showModal();
    });
    dialogs.confirm.querySelector(".cancel").addEventListener("click", function () {
      dialogs.details.showModal();
    });

    dialogs.confirm.querySelector(".save").addEventListener("click", async function () {
      const button = this;
      button.disabled = true;
      try {
        const created = await call("POST", "applications", {
          name: draft.name,
          readOnly: draft.readOnly,
          ipWhitelist: draft.ipWhitelist,
          userType: draft.userType,
          subunits: draft.subunits,
        });
        dialogs.confirm.close();
        addRow(created);
        dialogs.created.querySelector(".client-id").textContent = created.clientId;
        dialogs.created.querySelector(".client-secret").textContent = created.clientSecret;
        dialogs.created.querySelector(".event-client-id").textContent = created.eventClientId || "";
        dialogs.created.querySelector(".copy").textContent = "Copy";
        dialogs.created.showModal();
      } catch (e) {
        show(errorOf(dialogs.confirm), e.message);
      } finally {
        button.disabled = false;
      }
    });
    dialogs.created.addEventListener("close", function () {
      // Shown once: the secret leaves the page when its dialog closes.
      dialogs.created.querySelector(".client-secret").textContent = "";
    });

    function cell(row, text, className) {
      const td = document.createElement("td");
      if (className) td.className = className;
      td.textContent = text;
      row.append(td);
      return td;
    }

    function addRow(app) {
      const body = document.createElement("tbody");
      body.className = "app";
      body.dataset.clientId = app.clientId;
      body.dataset.name = app.name;
      const row = document.createElement("tr");
      const expandCell = document.createElement("td");
      row.append(expandCell);
      const nameCell = document.createElement("td");
      const link = document.createElement("a");
      link.href = "/portal/applications/" + encodeURIComponent(app.clientId);
      link.textContent = app.name;
      nameCell.append(link);
      row.append(nameCell);
      cell(row, app.clientId, "mono");
      cell(row, app.status, "status");
      cell(row, app.eventClientId || "", "mono");
      const secret = cell(row, "\u2022".repeat(8), "mono iris-secret");
      secret.dataset.hidden = "true";
      cell(row, app.readOnly ? "Yes" : "No");
      cell(row, app.userType);
      cell(row, String(app.ipWhitelist.length));
      const deleteCell = document.createElement("td");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete icon";
      remove.setAttribute("aria-label", "Delete " + app.name);
      remove.append(trashIcon.content.cloneNode(true));
      deleteCell.append(remove);
      row.append(deleteCell);
      body.append(row);
      if (app.subscriptions.length) {
        const expand = document.createElement("button");
        expand.type = "button";
        expand.className = "expand";
        expand.textContent = "+";
        expand.setAttribute("aria-expanded", "false");
        expand.setAttribute("aria-label", "Event types of " + app.name);
        expandCell.append(expand);
        const subsRow = document.createElement("tr");
        subsRow.className = "subscriptions";
        subsRow.hidden = true;
        subsRow.append(document.createElement("td"));
        const wide = document.createElement("td");
        wide.colSpan = 9;
        const subs = document.createElement("table");
        subs.className = "subs";
        const head = subs.createTHead().insertRow();
        ["Event type", "Subscription URL"].forEach(function (title) {
          const th = document.createElement("th");
          th.textContent = title;
          head.append(th);
        });
        const rows = subs.createTBody();
        app.subscriptions.forEach(function (sub) {
          const tr = rows.insertRow();
          cell(tr, sub.eventType);
          cell(tr, sub.url, "mono");
        });
        wide.append(subs);
        subsRow.append(wide);
        body.append(subsRow);
      }
      table.append(body);
      const empty = document.getElementById("no-applications");
      if (empty) empty.hidden = true;
      if (app.status !== "Active") followStatus(body, app.clientId);
    }

    // "In Creation" turns "Active" in place: the row asks for its status until then.
    function followStatus(body, clientId) {
      const status = body.querySelector(".status");
      const timer = setInterval(async function () {
        if (!body.isConnected) {
          clearInterval(timer);
          return;
        }
        try {
          const now = await call("GET", "applications/" + encodeURIComponent(clientId));
          status.textContent = now.status;
          if (now.status === "Active") clearInterval(timer);
        } catch (e) {
          clearInterval(timer);
        }
      }, 500);
    }
    table.querySelectorAll("tbody.app").forEach(function (body) {
      const status = body.querySelector(".status");
      if (status && status.textContent.trim() === "In Creation") followStatus(body, body.dataset.clientId);
    });

    // One listener for every row, the ones added later too.
    table.addEventListener("click", function (event) {
      const button = event.target.closest("button");
      if (!button) return;
      const body = button.closest("tbody.app");
      if (button.classList.contains("expand")) {
        const subs = body.querySelector("tr.subscriptions");
        const open = subs.hidden;
        subs.hidden = !open;
        button.textContent = open ? "\u2212" : "+";
        button.setAttribute("aria-expanded", String(open));
      } else if (button.classList.contains("delete")) {
        pending = body;
        dialogs.remove.querySelector(".app-name").textContent =
          body.dataset.name + " (" + body.dataset.clientId + ")";
        show(errorOf(dialogs.remove), "");
        dialogs.remove.showModal();
      }
    });

    dialogs.remove.querySelector(".confirm").addEventListener("click", async function () {
      if (!pending) return;
      try {
        await call("DELETE", "applications/" + encodeURIComponent(pending.dataset.clientId));
        pending.remove();
        pending = null;
        dialogs.remove.close();
      } catch (e) {
        show(errorOf(dialogs.remove), e.message);
      }
    });

    const toggle = document.getElementById("show-secrets");
    toggle.addEventListener("click", async function () {
      const cells = table.querySelectorAll("tbody.app");
      if (toggle.getAttribute("aria-pressed") === "true") {
        cells.forEach(function (body) {
          const secret = body.querySelector(".iris-secret");
          secret.textContent = "\u2022".repeat(8);
          secret.dataset.hidden = "true";
        });
        toggle.setAttribute("aria-pressed", "false");
        toggle.textContent = "Show IRIS Client Secrets";
        return;
      }
      try {
        const secrets = await call("POST", "event-secrets", {});
        cells.forEach(function (body) {
          const secret = body.querySelector(".iris-secret");
          secret.textContent = secrets[body.dataset.clientId] || "";
          secret.dataset.hidden = "false";
        });
        toggle.setAttribute("aria-pressed", "true");
        toggle.textContent = "Hide IRIS Client Secrets";
      } catch (e) {
        show(document.getElementById("overview-error"), e.message);
      }
    });
  }

  // ---- One application: rotate a secret ----------------------------------------------

  function applicationPage(section) {
    const ask = document.getElementById("dlg-rotate");
    const shown = document.getElementById("dlg-secret");
    cancelButtons(ask);
    cancelButtons(shown);
    copyButtons(shown);
    let which = "client";
    const labels = { client: "client secret", event: "IRIS client secret" };
    section.querySelectorAll("button.rotate").forEach(function (button) {
      button.addEventListener("click", function () {
        which = button.dataset.which;
        ask.querySelector(".which").textContent = labels[which];
        show(errorOf(ask), "");
        ask.showModal();
      });
    });
    ask.querySelector(".confirm").addEventListener("click", async function () {
      const clientId = section.dataset.clientId;
      try {
        const answer = await call("POST", "applications/" + encodeURIComponent(clientId) + "/rotate", { which });
        ask.close();
        shown.querySelector(".client-id").textContent = clientId;
        shown.querySelector(".label").textContent = which === "client" ? "Client Secret" : "IRIS Client Secret";
        shown.querySelector(".secret").textContent =
          which === "client" ? answer.clientSecret : answer.eventClientSecret;
        shown.querySelector(".copy").textContent = "Copy";
        shown.showModal();
      } catch (e) {
        show(errorOf(ask), e.message);
      }
    });
    shown.addEventListener("close", function () {
      shown.querySelector(".secret").textContent = "";
    });
  }

  // ---- Events: the partner tree's events, newest first, new ones added as they come ----

  function liveEvents(section) {
    const rows = document.getElementById("event-rows");
    const state = document.getElementById("events-state");
    const empty = document.getElementById("no-events");
    let last = 0;

    function summary(data) {
      if (data && data.message) return data.message;
      return JSON.stringify(data).slice(0, 160);
    }

    async function poll() {
      try {
        const found = await call("GET", "events?after=" + last);
        // Answered newest first: insert oldest first so the newest ends on top.
        found.reverse().forEach(function (item) {
          const event = item.event;
          const data = event.data || {};
          const row = document.createElement("tr");
          if (last) row.className = "fresh";
          [
            [event.time, ""],
            [event.type, ""],
            [data.partnerID || data.partnerId || "", ""],
            [summary(data), ""],
            [event.id, "mono"],
          ].forEach(function (value) {
            const td = document.createElement("td");
            td.textContent = String(value[0]);
            if (value[1]) td.className = value[1];
            row.append(td);
          });
          rows.prepend(row);
          last = Math.max(last, item.seq);
        });
        empty.hidden = rows.children.length > 0;
        state.textContent = "Live: updated " + new Date().toLocaleTimeString();
      } catch (e) {
        state.textContent = "Not updated: " + e.message;
      }
      setTimeout(poll, 2000);
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const table = document.getElementById("applications");
    if (table) overview(table);
    const section = document.getElementById("application");
    if (section) applicationPage(section);
    const events = document.getElementById("events");
    if (events) liveEvents(events);
  });
})();

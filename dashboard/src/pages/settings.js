// Settings: the access token sent as `Authorization: Bearer …` on every call to the
// registry, kept in this browser's localStorage. Saving it checks it with one read.
import { accessToken, api } from "../api.js";
import { h, labelled, statusLine } from "../ui.js";

export async function render(root) {
  const input = h("input", { id: "access-token", name: "token", type: "password", autocomplete: "off", size: 40,
    value: accessToken.get(), "aria-describedby": "token-help" });
  const status = statusLine("settings-status");
  const save = async (token) => {
    accessToken.set(token);
    if (!token) {
      status.info("Access token removed: calls go without one (fine on a server that does not check tokens).");
      return;
    }
    status.info("Access token saved in this browser; checking it with a read…");
    try {
      await api.experiments();
      status.info("Access token saved in this browser. The server answered a read with it.");
    } catch (err) {
      status.error(new Error(`Access token saved in this browser, but a read with it failed: ${err.message}`));
    }
  };
  const form = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    save(input.value.trim());
  } }, labelled("Access token", input), h("button", { type: "submit" }, "Save"),
  h("button", { type: "button", id: "remove-token", onclick: () => { input.value = ""; save(""); } }, "Remove"));
  root.append(h("h1", {}, "Settings"), form,
    h("p", { id: "token-help", class: "hint" },
      "Sent as Authorization: Bearer … on every call to the registry; stored in this browser's localStorage. ",
      "A server that checks tokens needs the read scope to show anything and the write scope to promote, archive, ",
      "roll back or set aliases; make one with ", h("code", {}, "ragasense token create --name me --scope write"),
      ". A server that does not check tokens (the default on loopback) needs none."),
    status.el);
}

// Settings: the write token sent as `Authorization: Bearer …` on promote / archive /
// rollback / alias calls, kept in this browser's localStorage.
import { writeToken } from "../api.js";
import { h, labelled, statusLine } from "../ui.js";

export async function render(root) {
  const input = h("input", { id: "write-token", name: "token", type: "password", autocomplete: "off", size: 40,
    value: writeToken.get(), "aria-describedby": "token-help" });
  const status = statusLine("settings-status");
  const form = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    writeToken.set(input.value.trim());
    status.info(input.value.trim() ? "Write token saved in this browser." : "Write token removed.");
  } }, labelled("Write token", input), h("button", { type: "submit" }, "Save"),
  h("button", { type: "button", onclick: () => { input.value = ""; writeToken.set(""); status.info("Write token removed."); } }, "Remove"));
  root.append(h("h1", {}, "Settings"), form,
    h("p", { id: "token-help", class: "hint" },
      "Sent as Authorization: Bearer … on write calls only (promote, archive, rollback, aliases); stored in this browser's localStorage."),
    status.el);
}

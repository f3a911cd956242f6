// Files (docs/visitor-protocol.md, "Files"), for the headless core: a file is uploaded
// to the conversation (POST /visitor-api/v1/files with the visitor's credentials, to
// the engine only), then sent as a message whose attachments are [its id]. Mixed into
// ChatCore; `this` is the core.
import { visitorHeaders } from "./http.js";
import { newId } from "./protocol.js";

export const fileMethods = {
  // `file`: a Blob (a browser's File; a Blob in Node and React Native), named `name`
  // (default file.name), to conversation `to` (default: the current one). Resolves
  // with the message.send ack; rejects with {code, message}: file_too_large,
  // file_type_not_allowed, unavailable (message null when the engine gave none), or
  // the send's own error.
  async sendFile(file, { to = null, name = file.name, clientMsgId = newId() } = {}) {
    const id = await this.target(to);
    const form = new FormData();
    form.append("conversation_id", id);
    form.append("file", file, name);
    let response;
    try {
      response = await (this.creds.fetch || globalThis.fetch)(new URL("/visitor-api/v1/files", this.server), {
        method: "POST",
        body: form,
        headers: visitorHeaders(this.creds, this.store.get("token", "")),
        credentials: "omit",
      });
    } catch {
      throw { code: "unavailable", message: null };
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw { code: body.code || "unavailable", message: body.detail || null };
    return this.request("message.send", { conversation_id: id, client_msg_id: clientMsgId, text: "", attachments: [body.id] });
  },
};

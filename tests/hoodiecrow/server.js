// SPDX-License-Identifier: MIT
//
// A Gmail-like IMAP test server: hoodiecrow-imap (npm) with its X-GM-EXT-1 plugin, on
// 127.0.0.1, preloaded from a JSON file that tests/harness/mhtest/hoodiecrow.py writes.
//
//   node server.js CONFIG.json [PORT]      (0 or no PORT = any free port)
//
// Prints one line "READY <port>" on stdout once it listens; exits when stdin closes (so a
// killed test never leaves it behind) or on SIGTERM. CONFIG.json:
//
//   users        {name: password}; each may also log in with XOAUTH2 and the access token
//                "token-<name>" (hoodiecrow's XOAUTH2 plugin; SASL-IR only)
//   folders      [{path, special_use: "\\All" | [..], flags: ["\\Noselect"], subscribed}]
//                ("INBOX" always exists; missing parents are created as plain folders,
//                as Gmail's parent labels are)
//   messages     [{raw, flags, internaldate: "01-Jan-2024 10:00:00 +0000",
//                  gm_msgid: "decimal", labels: ["\\Inbox", "Work", "\\Sent", ...]}]
//                Each message is placed, like Gmail shows it, in the folder of each of its
//                labels (\Inbox -> INBOX; \Sent \Draft \Starred \Important \Spam \Trash ->
//                the folder with that special use; other labels -> the folder of that
//                name) and in the \All folder unless it is in Spam or Trash. Every copy
//                has the same X-GM-MSGID and shares one label list.
//   plugins      hoodiecrow plugin names (default: a Gmail-like set, see DEFAULT_PLUGINS)
//   appendlimit  bytes: announced as APPENDLIMIT=N and enforced (NO [TOOBIG]); 0 = none
//   tls          {key, cert} PEM file paths: implicit TLS on the port instead of cleartext
//   greeting     the greeting's text (default Gmail's "Gimap ready for requests from ...")
//
// Where hoodiecrow differs from Gmail, this script patches it (the test servers must behave
// like the real one, not like the mock):
//   - labels are per message, not per folder copy: adding or removing a label through any
//     copy changes every copy's X-GM-LABELS, and adding a label that has a folder puts the
//     message into that folder (as Gmail shows it); an APPEND also shows in \All;
//   - hoodiecrow derives labels from the folder's special-use attribute, which gives
//     "\\All", "\\Junk", "\\Flagged", "\\Drafts" as labels; Gmail's labels are "\\Starred",
//     "\\Spam", "\\Draft", "\\Important" and All Mail is no label at all;
//   - Gmail keeps one message per Message-ID: an APPEND of a message it already has only
//     adds the target folder's label to it (OK, APPENDUID of that message), no second copy;
//   - hoodiecrow greets with its own fixed text;
//   - hoodiecrow's X-GM-EXT-1 plugin does not announce the capability;
//   - APPENDLIMIT is not a hoodiecrow feature.
// Not patched: hoodiecrow's command parser (imap-handler) does not unescape quoted strings
// ("a\\b" stays a\\b, and \" loses the quote), so names and labels containing '"' or '\'
// arrive mangled; the tests do not use such names.
"use strict";

const fs = require("fs");
const hoodiecrow = require("hoodiecrow-imap");

const DEFAULT_PLUGINS = ["ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE",
    "CONDSTORE", "SPECIAL-USE", "X-GM-EXT-1", "AUTH-PLAIN", "SASL-IR", "XOAUTH2"];

// Gmail's system labels and the special-use attribute of their folders.
const SYSTEM_LABELS = {
    "\\Sent": "\\Sent",
    "\\Draft": "\\Drafts",
    "\\Starred": "\\Flagged",
    "\\Important": "\\Important",
    "\\Spam": "\\Junk",
    "\\Trash": "\\Trash",
};

function specialUses(folder) {
    return [].concat(folder["special-use"] || []);
}

function labelForFolder(folder) {
    if (folder.path.toUpperCase() === "INBOX")
        return "\\Inbox";
    const uses = specialUses(folder);
    if (uses.indexOf("\\All") >= 0)
        return null;
    for (const label of Object.keys(SYSTEM_LABELS))
        if (uses.indexOf(SYSTEM_LABELS[label]) >= 0)
            return label;
    if ((folder.flags || []).indexOf("\\Noselect") >= 0)
        return null;
    return folder.path;
}

function folderForLabel(server, label) {
    if (label.toUpperCase() === "\\INBOX")
        return server.getMailbox("INBOX");
    const use = SYSTEM_LABELS[label];
    for (const path of Object.keys(server.folderCache)) {
        const f = server.folderCache[path];
        if (use ? specialUses(f).indexOf(use) >= 0 : path === label)
            return f;
    }
    return null;
}

// The folder of label @label; Gmail creates a user label's folder when it is first used.
function labelFolder(server, label) {
    const f = folderForLabel(server, label);
    if (f || SYSTEM_LABELS[label] || label.toUpperCase() === "\\INBOX")
        return f;
    try {
        server.createMailbox(label);
    } catch (e) {
        return null;
    }
    return folderForLabel(server, label);
}

function allMail(server) {
    for (const path of Object.keys(server.folderCache))
        if (specialUses(server.folderCache[path]).indexOf("\\All") >= 0)
            return server.folderCache[path];
    return null;
}

// --- the storage tree ------------------------------------------------------------------

function buildStorage(cfg) {
    const root = {separator: "/", folders: {}};
    const storage = {INBOX: {messages: []}, "": root};
    const byPath = {INBOX: storage.INBOX};

    function ensure(path) {
        if (path.toUpperCase() === "INBOX")
            return storage.INBOX;
        if (byPath[path])
            return byPath[path];
        const parts = path.split("/");
        let parent = root;
        let cur = "";
        for (let i = 0; i < parts.length; i++) {
            cur = cur ? cur + "/" + parts[i] : parts[i];
            if (!byPath[cur]) {
                // A parent label is a label of its own in Gmail (selectable); containers
                // such as "[Gmail]" are declared \Noselect in the folder list.
                const f = {messages: [], folders: {}};
                parent.folders[parts[i]] = f;
                byPath[cur] = f;
            }
            parent = byPath[cur];
        }
        return parent;
    }

    for (const def of cfg.folders || []) {
        const f = ensure(def.path);
        f.flags = [].concat(def.flags || []);
        if (def.special_use)
            f["special-use"] = [].concat(def.special_use);
        if ("subscribed" in def)
            f.subscribed = !!def.subscribed;
    }
    return {storage, ensure};
}

function placeMessages(cfg, ensure, folderOf) {
    let seq = 0;
    for (const m of cfg.messages || []) {
        const labels = [].concat(m.labels || []);
        const targets = [];
        seq++;
        for (const label of labels) {
            const f = folderOf(label) || (SYSTEM_LABELS[label] || label === "\\Inbox"
                                              ? null : ensure(label));
            if (f && targets.indexOf(f) < 0)
                targets.push(f);
        }
        const hidden = labels.indexOf("\\Spam") >= 0 || labels.indexOf("\\Trash") >= 0;
        const all = folderOf(null);
        if (all && !hidden && targets.indexOf(all) < 0)
            targets.push(all);
        const shared = labels.slice();
        const msgid = String(m.gm_msgid || (BigInt("1278455344230334865") + BigInt(seq)));
        m.gm_msgid = msgid;
        for (const f of targets) {
            f.messages.push({
                raw: m.raw,
                flags: [].concat(m.flags || []),
                internaldate: m.internaldate,
                "X-GM-MSGID": msgid,
                "X-GM-LABELS": shared,
            });
        }
    }
}

// The preload's folder lookup, before hoodiecrow has indexed the tree.
function preloadFolderOf(cfg, ensure) {
    return function(label) {
        const defs = cfg.folders || [];
        if (label === null) {
            const d = defs.find((x) => [].concat(x.special_use || []).indexOf("\\All") >= 0);
            return d ? ensure(d.path) : null;
        }
        if (label.toUpperCase() === "\\INBOX")
            return ensure("INBOX");
        const use = SYSTEM_LABELS[label];
        if (use) {
            const d = defs.find((x) => [].concat(x.special_use || []).indexOf(use) >= 0);
            return d ? ensure(d.path) : null;
        }
        return null;
    };
}

// --- Gmail behaviour patched into hoodiecrow -----------------------------------------

function sameMessage(server, msgid) {
    const found = [];
    for (const path of Object.keys(server.folderCache)) {
        const f = server.folderCache[path];
        for (const m of f.messages || [])
            if (m["X-GM-MSGID"] === msgid)
                found.push([f, m]);
    }
    return found;
}

// Puts a copy of @message (sharing its labels) into @folder unless it is there already.
function showIn(server, folder, message) {
    if (!folder || sameMessage(server, message["X-GM-MSGID"]).some((x) => x[0] === folder))
        return;
    const copy = {
        raw: message.raw,
        flags: message.flags.slice(),
        internaldate: message.internaldate,
        "X-GM-MSGID": message["X-GM-MSGID"],
        "X-GM-LABELS": message["X-GM-LABELS"],
        uid: folder.uidnext++,
        copying: true,
    };
    folder.messages.push(copy);
    server.processMessage(copy, folder);
    delete copy.copying;
    server.notify({tag: "*", attributes: [folder.messages.length, {type: "ATOM", value: "EXISTS"}]},
                  folder);
}

function messageId(raw) {
    const head = String(raw).split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, " ");
    const m = head.match(/^message-id:[ \t]*(\S+)/im);
    return m ? m[1] : null;
}

function findByMessageId(server, id) {
    for (const path of Object.keys(server.folderCache))
        for (const m of server.folderCache[path].messages || [])
            if (messageId(m.raw) === id)
                return m;
    return null;
}

function labelValues(flags) {
    return [].concat(flags).map((f) => (f && f.value !== undefined ? f.value : f).toString());
}

function sendLabels(connection, parsed, data, index, message) {
    const resp = [{type: "ATOM", value: "X-GM-LABELS"},
        message["X-GM-LABELS"].map((l) => ({type: "STRING", value: l}))];
    if ((parsed.command || "").toUpperCase() === "UID STORE")
        resp.push({type: "ATOM", value: "UID"}, message.uid);
    connection.send({tag: "*", attributes: [index, {type: "ATOM", value: "FETCH"}, resp]},
                    "FLAG UPDATE", parsed, data, message);
}

function gmailPlugin(cfg) {
    return function(server) {
        // hoodiecrow's plugin serves the items but does not announce them; Gmail does.
        server.registerCapability("X-GM-EXT-1");
        // Replace X-GM-EXT-1's label derivation (the plugin is loaded before this one).
        const gm = server.messageHandlers.length - 1;
        server.messageHandlers[gm] = function(srv, message, mailbox) {
            if (!message["X-GM-MSGID"]) {
                srv["HIGHESTX-GM-MSGID"] = srv["HIGHESTX-GM-MSGID"].plus(1);
                message["X-GM-MSGID"] = srv["HIGHESTX-GM-MSGID"].toString();
            }
            const fresh = !message["X-GM-LABELS"];
            if (fresh)
                message["X-GM-LABELS"] = [];
            const label = labelForFolder(mailbox);
            if (label && message["X-GM-LABELS"].indexOf(label) < 0)
                message["X-GM-LABELS"].push(label);
            if (fresh && !message.copying && srv.indexed) {
                // An APPEND: Gmail shows it in All Mail as well (not for Spam and Trash).
                if (label !== "\\Spam" && label !== "\\Trash")
                    showIn(srv, allMail(srv), message);
            }
        };
        server.fetchHandlers["X-GM-LABELS"] = function(connection, message) {
            return message["X-GM-LABELS"].map((l) => ({type: "STRING", value: l}));
        };
        const change = function(mode) {
            return function(connection, message, flags, index, parsed, data) {
                const labels = message["X-GM-LABELS"];
                const values = labelValues(flags);
                if (mode === "set")
                    labels.splice(0, labels.length);
                for (const l of values) {
                    const at = labels.indexOf(l);
                    if (mode === "remove" && at >= 0)
                        labels.splice(at, 1);
                    else if (mode !== "remove" && at < 0)
                        labels.push(l);
                }
                if (mode !== "remove")
                    for (const l of values)
                        showIn(server, labelFolder(server, l), message);
                if (!/\.SILENT$/i.test((parsed.attributes[1] || {}).value || ""))
                    sendLabels(connection, parsed, data, index, message);
            };
        };
        server.storeHandlers["X-GM-LABELS"] = change("set");
        server.storeHandlers["+X-GM-LABELS"] = change("add");
        server.storeHandlers["-X-GM-LABELS"] = change("remove");
        server.storeHandlers["X-GM-LABELS.SILENT"] = change("set");
        server.storeHandlers["+X-GM-LABELS.SILENT"] = change("add");
        server.storeHandlers["-X-GM-LABELS.SILENT"] = change("remove");

        // Gmail keeps one message per Message-ID: an APPEND of a message it already has
        // adds the target folder's label to that message instead of a second copy.
        const appendOnce = server.getCommandHandler("APPEND");
        server.setCommandHandler("APPEND", function(connection, parsed, data, callback) {
            const args = parsed.attributes || [];
            const raw = args[args.length - 1];
            const path = args[0] && args[0].value;
            const folder = path !== undefined && server.getMailbox(String(path));
            const id = raw && raw.type === "LITERAL" && messageId(raw.value);
            const have = id && folder && ["Authenticated", "Selected"].indexOf(connection.state) >= 0
                ? findByMessageId(server, id) : null;
            if (!have)
                return appendOnce(connection, parsed, data, callback);
            const label = labelForFolder(folder);
            if (label && have["X-GM-LABELS"].indexOf(label) < 0)
                have["X-GM-LABELS"].push(label);
            showIn(server, folder, have);
            const copy = folder.messages.find((m) => m["X-GM-MSGID"] === have["X-GM-MSGID"]);
            const attributes = [{type: "TEXT", value: "APPEND Completed"}];
            if (server.capabilities.UIDPLUS && copy)
                attributes.unshift({type: "SECTION", section: [{type: "ATOM", value: "APPENDUID"},
                    folder.uidvalidity, copy.uid]});
            connection.send({tag: parsed.tag, command: "OK", attributes}, "APPEND DUPLICATE",
                            parsed, data);
            return callback();
        });

        if (cfg.appendlimit) {
            server.registerCapability("APPENDLIMIT=" + cfg.appendlimit);
            const append = server.getCommandHandler("APPEND");
            server.setCommandHandler("APPEND", function(connection, parsed, data, callback) {
                const args = parsed.attributes || [];
                const raw = args[args.length - 1];
                if (raw && raw.type === "LITERAL" && raw.value.length > cfg.appendlimit) {
                    connection.send({tag: parsed.tag, command: "NO", attributes: [
                        {type: "SECTION", section: [{type: "ATOM", value: "TOOBIG"}]},
                        {type: "TEXT", value: "Message too large"}]}, "APPEND FAILED",
                    parsed, data);
                    return callback();
                }
                return append(connection, parsed, data, callback);
            });
        }
    };
}

// --- main ----------------------------------------------------------------------------

function main() {
    const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const port = Number(process.argv[3] || 0);
    const {storage, ensure} = buildStorage(cfg);
    placeMessages(cfg, ensure, preloadFolderOf(cfg, ensure));

    const users = {};
    for (const name of Object.keys(cfg.users || {}))
        users[name] = {password: cfg.users[name],
            xoauth2: {accessToken: "token-" + name, sessionTimeout: 3600 * 1000}};
    const plugins = [].concat(cfg.plugins || DEFAULT_PLUGINS);
    const at = plugins.indexOf("X-GM-EXT-1");
    if (at >= 0)
        plugins.splice(at + 1, 0, gmailPlugin(cfg));
    const options = {plugins, storage, users, debug: !!cfg.debug,
        "HIGHESTX-GM-MSGID": "1278455344230334865"};
    if (cfg.tls) {
        options.secureConnection = true;
        options.credentials = {key: fs.readFileSync(cfg.tls.key),
            cert: fs.readFileSync(cfg.tls.cert)};
    }
    const server = hoodiecrow(options);
    // From here on, new messages are APPENDs (the preload was indexed in the constructor).
    server.indexed = true;
    // Bigger than any preloaded X-GM-MSGID, so appended messages get new ones.
    let top = server["HIGHESTX-GM-MSGID"];
    for (const m of cfg.messages || [])
        if (m.gm_msgid && top.lt(String(m.gm_msgid)))
            top = new top.constructor(String(m.gm_msgid));
    server["HIGHESTX-GM-MSGID"] = top;

    // Gmail's greeting instead of hoodiecrow's fixed one (provider detection reads it).
    const greeting = cfg.greeting || "Gimap ready for requests from 127.0.0.1 mhtest";
    const ev = cfg.tls ? "secureConnection" : "connection";
    const accept = server.server.listeners(ev);
    server.server.removeAllListeners(ev);
    server.server.on(ev, (socket) => {
        const write = socket.write;
        socket.write = function(data, ...rest) {
            socket.write = write;
            if (typeof data === "string" && data.startsWith("* OK Hoodiecrow"))
                data = "* OK " + greeting + "\r\n";
            return write.call(socket, data, ...rest);
        };
        accept.forEach((f) => f(socket));
    });

    server.server.on("error", (e) => {
        process.stderr.write("hoodiecrow: " + e.message + "\n");
        process.exit(1);
    });
    server.server.listen(port, "127.0.0.1", () => {
        process.stdout.write("READY " + server.server.address().port + "\n");
    });
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
    process.on("SIGTERM", () => process.exit(0));
}

main();

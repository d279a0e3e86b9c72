// lea-notices over grpc-web, with a real grpc-web client (connect-node's
// grpc-web transport over HTTP/1.1, as a browser would speak it) against the
// real server binary (LEA_NOTICES_BIN, default the checkout's debug build) on a
// random port with a temp data dir, and CORS for one allowed origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { PolicyService } from "../gen/lea/notices/v1/policy_pb.js";
import { NoticeService } from "../gen/lea/notices/v1/notice_pb.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const bin = process.env.LEA_NOTICES_BIN ?? join(repo, "target", "debug", "lea-notices");
const ALLOWED = "https://ewo.hants.example";
let server, dataDir, baseUrl, env;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const token = (role) =>
  execFileSync(bin, ["token", "--authority", "850", "--role", role, "--subject", `web.${role}`], { env })
    .toString()
    .trim();

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "lea-web-"));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = {
    ...process.env,
    LEA_NOTICES_DATA_DIR: dataDir,
    LEA_NOTICES_LISTEN_ADDR: `127.0.0.1:${port}`,
    LEA_NOTICES_GRPC_WEB_ORIGINS: `${ALLOWED}, http://localhost:3000`,
  };
  delete env.DATABASE_URL;
  server = spawn(bin, ["serve"], { env, stdio: "inherit" });
  for (let i = 0; i < 150; i++) {
    try {
      await fetch(baseUrl, { method: "OPTIONS" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error("the server did not start listening");
});

after(() => {
  server?.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
});

const transport = () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
const bearer = (role) => ({ headers: { authorization: `Bearer ${token(role)}` } });

test("GetPolicy over grpc-web with a bearer token", async () => {
  const policy = createClient(PolicyService, transport());
  const res = await policy.getPolicy(
    { parent: "authorities/850", date: { year: 2025, month: 9, day: 1 } },
    bearer("la_officer"),
  );
  assert.equal(res.policyVersion.lowerAmountPence, 8000n);
  assert.equal(res.policyVersion.higherAmountPence, 16000n);
});

test("ListNotices over grpc-web; its errors carry the gRPC status", async () => {
  const notices = createClient(NoticeService, transport());
  const res = await notices.listNotices({ parent: "authorities/850" }, bearer("auditor"));
  assert.deepEqual(res.notices, []);
  await assert.rejects(
    notices.listNotices({ parent: "authorities/850", pageSize: -1 }, bearer("auditor")),
    (e) => e instanceof ConnectError && e.code === Code.InvalidArgument,
  );
});

const preflight = (origin) =>
  fetch(`${baseUrl}/lea.notices.v1.PolicyService/GetPolicy`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type,x-grpc-web,x-user-agent",
    },
  });

test("a preflight from an allowed origin gets CORS headers", async () => {
  const res = await preflight(ALLOWED);
  assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
  const allowed = res.headers.get("access-control-allow-headers") ?? "";
  for (const h of ["authorization", "content-type", "x-grpc-web"]) assert.match(allowed, new RegExp(h));
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
});

test("a preflight from another origin gets none", async () => {
  const res = await preflight("https://evil.example");
  assert.equal(res.headers.get("access-control-allow-origin"), null);
});

test("a grpc-web response to an allowed origin exposes the gRPC status headers", async () => {
  const res = await fetch(`${baseUrl}/lea.notices.v1.PolicyService/GetPolicy`, {
    method: "POST",
    headers: { origin: ALLOWED, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: new Uint8Array([0, 0, 0, 0, 0]),
  });
  assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
  assert.match(res.headers.get("access-control-expose-headers") ?? "", /grpc-status/);
});

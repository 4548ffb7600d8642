// 9001 sign-in of sandbox hospital H32010000001 with each signature profile (Node 18+).
import { createHash, createHmac, randomBytes } from "node:crypto";

const URL = process.env.YIDI_SETTLEMENT_URL ?? "http://127.0.0.1:8002";
const CODE = "H32010000001";
const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const nonce = () => randomBytes(8).toString("hex");

function envelope(sequence) {
  const now = new Date(Date.now() + 8 * 3600 * 1000).toISOString(); // Beijing time
  const stamp = now.slice(0, 19).replace(/[-T:]/g, "");
  return JSON.stringify({
    infno: "9001",
    msgid: `${CODE}${stamp}${String(sequence).padStart(4, "0")}`,
    mdtrtarea_admvs: "320100",
    recer_sys_code: "YBXT",
    infver: "V1.0",
    opter_type: "1",
    opter: "001",
    opter_name: "收费员",
    inf_time: now.slice(0, 19),
    fixmedins_code: CODE,
    fixmedins_name: "南京市第一人民医院(沙盒)",
    input: { signIn: { opter_no: "001", mac: "00-16-3E-00-00-01", ip: "10.0.0.8" } },
  });
}

function tifHeaders() {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce();
  return {
    "x-tif-paasid": "sbx_h32010000001",
    "x-tif-timestamp": timestamp,
    "x-tif-nonce": n,
    "x-tif-signature": sha256(`${timestamp}sandbox-tif-token-${CODE}${n}${timestamp}`),
  };
}

function csbHeaders() {
  const headers = {
    _api_name: "9001",
    _api_version: "1.0.0",
    _api_timestamp: String(Date.now()),
    _api_access_key: `AK${CODE}`,
    _api_nonce: nonce(),
  };
  const text = Object.keys(headers).sort().map((key) => `${key}=${headers[key]}`).join("&");
  const signature = createHmac("sha1", `sandbox-csb-sk-${CODE}`).update(text, "utf8").digest("base64");
  return { ...headers, _api_signature: signature };
}

function hmacHeaders(body) {
  const timestamp = String(Date.now());
  const n = nonce();
  const text = `${timestamp}\n${n}\n${sha256(body)}`;
  return {
    "x-yidi-institution": CODE,
    "x-yidi-timestamp": timestamp,
    "x-yidi-nonce": n,
    "x-yidi-signature": createHmac("sha256", `sandbox-secret-${CODE}`).update(text, "utf8").digest("hex"),
  };
}

async function post(path, body, headers) {
  const response = await fetch(URL + path, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body,
  });
  console.log(path, JSON.stringify(await response.json()));
}

await post("/ebus/gdyb_api/prd/hsa/hgs/9001", envelope(1), tifHeaders());
await post("/CSB/hsa-fsi-9001", envelope(2), csbHeaders());
const body = envelope(3);
await post("/fsi/api/rsfComIfsService/callService", body, hmacHeaders(body));

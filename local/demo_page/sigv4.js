// SigV4 (AWS4-HMAC-SHA256) for AWS JSON 1.1 requests to POST /, with WebCrypto: the page signs exactly as an
// SDK does (service "rekognition", the extension model's signing name too), so the service checks the page's
// requests like any client's. WebCrypto exists only in secure contexts: https, or http on localhost/127.0.0.1.
"use strict";

const SigV4 = (() => {
  const encoder = new TextEncoder();
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

  async function sha256Hex(data) {
    return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
  }

  async function hmac(key, message) {
    const imported = await crypto.subtle.importKey("raw", typeof key === "string" ? encoder.encode(key) : key,
                                                   { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", imported, encoder.encode(message));
  }

  function amzDate(now) {
    return now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");  // 20261201T101500Z
  }

  // Headers (lower-case names) to send for a JSON body signed with the key pair; the browser adds Host itself.
  async function sign({ keyId, secret, region, service = "rekognition", host, target, body, now = new Date() }) {
    const date = amzDate(now);
    const day = date.slice(0, 8);
    const headers = { "content-type": "application/x-amz-json-1.1", host, "x-amz-date": date, "x-amz-target": target };
    const names = Object.keys(headers).sort();
    const canonical = ["POST", "/", "", ...names.map((n) => `${n}:${headers[n]}`), "", names.join(";"),
                       await sha256Hex(body)].join("\n");
    const scope = `${day}/${region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", date, scope, await sha256Hex(canonical)].join("\n");
    let key = await hmac("AWS4" + secret, day);
    for (const part of [region, service, "aws4_request"]) key = await hmac(key, part);
    const signature = hex(await hmac(key, toSign));
    delete headers.host;  // a browser may not set Host; it sends location.host, which is what was signed
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${keyId}/${scope}, SignedHeaders=${names.join(";")}, ` +
                            `Signature=${signature}`;
    return headers;
  }

  return { sign, amzDate };
})();

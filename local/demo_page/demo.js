// The demo page: signed calls to this endpoint (ListCollections, SearchAllFacesByImage), boxes on a canvas,
// each face's best matches beside it.
"use strict";

const BOX = "#00ff66";         // searched faces (the browser test counts these pixels on the box edges)
const UNSEARCHED = "#ff9900";  // faces that failed QualityFilter
const MAX_BYTES = 4 * 1024 * 1024;  // re-encode above this: Image.Bytes is 5 MB, and base64 adds a third
const $ = (id) => document.getElementById(id);
window.demo = { lastResult: null };

class ServiceError extends Error {
  constructor(code, message) { super(`${code}: ${message}`); this.code = code; }
}

function settings() {
  return { keyId: $("key").value.trim(), secret: $("secret").value, region: $("region").value.trim() };
}

async function call(target, params) {
  const body = JSON.stringify(params);
  const headers = await SigV4.sign({ ...settings(), host: location.host, target, body });
  const response = await fetch("/", { method: "POST", headers, body, credentials: "omit", cache: "no-store" });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ServiceError(answer.__type || response.headers.get("x-amzn-ErrorType") || `HTTP ${response.status}`,
                           answer.Message || answer.message || response.statusText);
  }
  return answer;
}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

async function loadCollections(wanted) {
  const select = $("collection");
  const ids = [];
  let token;
  do {
    const page = await call("RekognitionService.ListCollections", token ? { NextToken: token } : {});
    ids.push(...page.CollectionIds);
    token = page.NextToken;
  } while (token);
  select.replaceChildren(...ids.map((id) => new Option(id, id, false, id === wanted)));
  status(ids.length ? `${ids.length} collections` : "No collections yet: index some faces first.");
}

function fileToImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`${file.name} is not an image this browser can read`));
    image.src = url;
  });
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function imageBytes(file, image) {
  // JPEG and PNG under the limit go as they are; anything else (or bigger) is re-encoded as JPEG.
  if ((file.type === "image/jpeg" || file.type === "image/png") && file.size <= MAX_BYTES) {
    return toBase64(await file.arrayBuffer());
  }
  const scale = Math.min(1, 4096 / Math.max(image.naturalWidth, image.naturalHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  return toBase64(await blob.arrayBuffer());
}

function drawBoxes(image, searched, unsearched) {
  const canvas = $("canvas");
  const scale = Math.min(1, 900 / image.naturalWidth);
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  const line = Math.max(3, Math.round(canvas.width / 250));
  const draw = (box, colour, label) => {
    const x = box.Left * canvas.width, y = box.Top * canvas.height;
    context.lineWidth = line;
    context.strokeStyle = colour;
    context.strokeRect(x, y, box.Width * canvas.width, box.Height * canvas.height);
    if (label) {
      context.font = `bold ${Math.max(14, line * 5)}px system-ui, sans-serif`;
      context.fillStyle = colour;
      context.fillText(label, x + line, Math.max(y - line * 1.5, line * 5));
    }
  };
  searched.forEach((face, i) => draw(face.BoundingBox, BOX, String(i + 1)));
  unsearched.forEach((face) => draw(face.FaceDetails.BoundingBox, UNSEARCHED, ""));
}

// Face attributes (Attributes=ALL, the checkbox): what FaceDetail holds beyond the default members.
function describeAttributes(detail) {
  const parts = [`confidence ${detail.Confidence.toFixed(1)}`];
  if (detail.AgeRange) parts.push(`age ${detail.AgeRange.Low}-${detail.AgeRange.High}`);
  for (const name of ["Gender"]) if (detail[name]) parts.push(`${detail[name].Value} (${detail[name].Confidence.toFixed(0)} %)`);
  for (const name of ["Smile", "Eyeglasses", "Sunglasses", "Beard", "Mustache", "EyesOpen", "MouthOpen"]) {
    if (detail[name] && detail[name].Value) parts.push(name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase());
  }
  if (detail.Emotions && detail.Emotions.length) {
    const top = [...detail.Emotions].sort((a, b) => b.Confidence - a.Confidence)[0];
    parts.push(top.Type.toLowerCase());
  }
  if (detail.Pose) parts.push(`yaw ${detail.Pose.Yaw.toFixed(0)}°`);
  return parts.join(", ");
}

function listFaces(searched, unsearched) {
  const items = searched.map((face, i) => {
    const item = document.createElement("li");
    item.className = "face";
    const title = document.createElement("strong");
    title.textContent = `Face ${i + 1}`;
    const attributes = document.createElement("div");
    attributes.className = "attributes";
    attributes.textContent = describeAttributes(face.FaceDetail);
    item.append(title, attributes);
    if (!face.FaceMatches.length) {
      const none = document.createElement("div");
      none.textContent = "no match above the threshold";
      item.append(none);
    } else {
      const table = document.createElement("table");
      for (const match of face.FaceMatches) {
        const row = table.insertRow();
        row.className = "match";
        row.insertCell().textContent = match.Face.ExternalImageId || match.Face.FaceId;
        row.insertCell().textContent = `${match.Similarity.toFixed(2)} %`;
      }
      item.append(table);
    }
    return item;
  });
  for (const face of unsearched) {
    const item = document.createElement("li");
    item.className = "unsearched";
    item.textContent = `not searched: ${face.Reasons.join(", ")}`;
    items.push(item);
  }
  $("faces").replaceChildren(...items);
}

async function search(file) {
  const collection = $("collection").value;
  if (!collection) return status("Choose a collection first (Load collections).", true);
  status(`Searching ${file.name} in ${collection}…`);
  try {
    const image = await fileToImage(file);
    const answer = await call("FaceSearchExtensions.SearchAllFacesByImage", {
      CollectionId: collection,
      Image: { Bytes: await imageBytes(file, image) },
      MaxFaces: Number($("max-faces").value) || 3,
      FaceMatchThreshold: Number($("threshold").value) || 80,
      Attributes: $("attributes").checked ? ["ALL"] : ["DEFAULT"],
    });
    window.demo.lastResult = answer;
    drawBoxes(image, answer.SearchedFaces, answer.UnsearchedFaces);
    listFaces(answer.SearchedFaces, answer.UnsearchedFaces);
    const count = answer.SearchedFaces.length;
    status(`${count} ${count === 1 ? "face" : "faces"} searched in ${collection}`);
  } catch (error) {
    status(error.message, true);
  }
}

function readFragment() {
  // #key=...&secret=...&region=...&collection=... (the link make serve prints); removed from the address bar.
  const fields = new URLSearchParams(location.hash.slice(1));
  if (fields.get("key")) $("key").value = fields.get("key");
  if (fields.get("secret")) $("secret").value = fields.get("secret");
  if (fields.get("region")) $("region").value = fields.get("region");
  if (location.hash) history.replaceState(null, "", location.pathname);
  return fields.get("collection") || "";
}

function start() {
  if (!window.crypto || !crypto.subtle) {
    return status("This page needs WebCrypto: open it over https, or on http://localhost / 127.0.0.1.", true);
  }
  const wanted = readFragment();
  const refresh = () => loadCollections($("collection").value || wanted).catch((error) => status(error.message, true));
  $("refresh").addEventListener("click", refresh);
  $("file").addEventListener("change", (event) => event.target.files[0] && search(event.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) search(event.dataTransfer.files[0]);
  });
  if ($("key").value && $("secret").value) refresh();
  else status("Type the access key pair make serve printed, then Load collections.");
}

start();

/**
 * Request body size (config MAX_BODY_BYTES): a larger body gets 413 and a GraphQL-style error
 * (`PAYLOAD_TOO_LARGE`) before anything parses it. A declared Content-Length is checked
 * without reading; a chunked body is read here up to the limit and handed on as `req.body`,
 * which yoga's Node adapter takes instead of the stream.
 */
import type http from 'node:http';

export const PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE';

function refuse(res: http.ServerResponse, maxBytes: number): void {
  const text = JSON.stringify({
    errors: [{ message: `Request body is larger than ${maxBytes} bytes.`, extensions: { code: PAYLOAD_TOO_LARGE, maxBytes } }],
  });
  // Close the connection rather than read the rest of a body we refused.
  res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}

/** Calls `next` with the request when its body fits, else answers 413 itself. */
export function limitBody(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number, next: () => void): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (Number(declared) > maxBytes) refuse(res, maxBytes);
    else next();
    return;
  }
  if (req.headers['transfer-encoding'] === undefined) return next(); // no body
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBytes) return void chunks.push(chunk);
    req.off('data', onData);
    req.off('end', onEnd);
    refuse(res, maxBytes);
  };
  const onEnd = () => {
    (req as http.IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks);
    next();
  };
  req.on('data', onData);
  req.on('end', onEnd);
}

// Parse Server for cql's REST tests, in express-middleware mode.
//
// One ParseServer instance mounted twice:
//   /parse  plain Parse REST API (X-Parse-* headers); started with
//           allowCustomObjectId and a maintenance key (MAINTENANCE_KEY), as a
//           migration target needs (objectIds and createdAt/updatedAt kept),
//           unless PARSE_DEFAULTS=1 (Parse Server's defaults: neither)
//   /1.1    "LeanCloud flavor": X-LC-* headers mapped onto X-Parse-*, query
//           limits capped at 1000 like LeanCloud, LeanCloud's conditional
//           write (PUT/DELETE /classes/C/id?where=...) answered with code 305
//           when the object does not match, and LeanCloud's scan API
//           (GET /1.1/scan/classes/C: master key, objectId order, opaque
//           cursor that expires; POST /1.1/__test/expire-scan-cursors expires
//           every cursor at once, for tests).
// (One instance per process: Parse Server keeps its schema cache process-wide.)
// Configuration from the environment: PORT, DATABASE_URI, APP_ID, MASTER_KEY,
// REST_KEY, MAINTENANCE_KEY, PARSE_DEFAULTS, SCAN_CURSOR_TTL_MS. Prints
// "ready <port>" on stdout once listening.
'use strict';

const express = require('express');
const http = require('http');
const { ParseServer } = require('parse-server');

const PORT = parseInt(process.env.PORT || '1337', 10);
const HOST = '127.0.0.1';
const APP_ID = process.env.APP_ID || 'testapp';
const MASTER_KEY = process.env.MASTER_KEY || 'testmaster';
const REST_KEY = process.env.REST_KEY || 'testrest';
const MAINTENANCE_KEY = process.env.MAINTENANCE_KEY || 'testmaintenance';
const PARSE_DEFAULTS = process.env.PARSE_DEFAULTS === '1';
const LC_MAX_LIMIT = 1000;
const SCAN_CURSOR_TTL_MS = parseInt(process.env.SCAN_CURSOR_TTL_MS || '600000', 10); // LeanCloud: 10 minutes

function leanCloudHeaders(req, res, next) {
  const h = req.headers;
  if (h['x-lc-id'] && !h['x-parse-application-id']) h['x-parse-application-id'] = h['x-lc-id'];
  if (h['x-lc-key']) {
    const key = String(h['x-lc-key']);
    if (key.endsWith(',master')) h['x-parse-master-key'] = key.slice(0, -',master'.length);
    else h['x-parse-rest-api-key'] = key;
  }
  if (h['x-lc-session']) h['x-parse-session-token'] = h['x-lc-session'];
  next();
}

// LeanCloud caps `limit` at 1000; emulate it so the client's paging is exercised.
function leanCloudLimit(req, res, next) {
  if (req.method === 'GET' && req.query && req.query.limit !== undefined) {
    const n = parseInt(req.query.limit, 10);
    if (!Number.isNaN(n) && n > LC_MAX_LIMIT) {
      const url = new URL(req.url, 'http://x');
      url.searchParams.set('limit', String(LC_MAX_LIMIT));
      req.url = url.pathname + url.search;
    }
  }
  next();
}

// LeanCloud's conditional write: PUT/DELETE /classes/C/id?where={...}.
function conditionalWrite(req, res, next) {
  const m = /^\/classes\/([^/]+)\/([^/?]+)/.exec(req.path);
  if (!m || (req.method !== 'PUT' && req.method !== 'DELETE') || !req.query || !req.query.where) return next();
  let where;
  try {
    where = JSON.parse(req.query.where);
  } catch (e) {
    return res.status(400).json({ code: 107, error: 'where parameter is not valid JSON' });
  }
  const query = new URLSearchParams({
    where: JSON.stringify({ $and: [{ objectId: decodeURIComponent(m[2]) }, where] }),
    limit: '0',
    count: '1',
  });
  internalGet(`/parse/classes/${m[1]}?${query}`, req.headers, (err, status, body) => {
    if (err) return res.status(500).json({ code: 1, error: String(err) });
    if (status !== 200) return res.status(status).type('json').send(body);
    let parsed = {};
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      /* fall through */
    }
    if (!parsed.count) return res.status(400).json({ code: 305, error: 'No effect on updating/deleting a document.' });
    // Strip `where` so Parse Server sees a plain write.
    const url = new URL(req.url, 'http://x');
    url.searchParams.delete('where');
    req.url = url.pathname + url.search;
    next();
  });
}

// An internal GET on the plain mount, with the caller's (mapped) credentials.
function internalGet(path, reqHeaders, done) {
  const headers = {};
  for (const k of ['x-parse-application-id', 'x-parse-master-key', 'x-parse-rest-api-key', 'x-parse-session-token']) {
    if (reqHeaders[k]) headers[k] = reqHeaders[k];
  }
  const sub = http.request({ host: HOST, port: PORT, path, method: 'GET', headers }, (r) => {
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (c) => (body += c));
    r.on('end', () => done(null, r.statusCode, body));
  });
  sub.on('error', (e) => done(e));
  sub.end();
}

// LeanCloud's scan API: GET /scan/classes/C?limit=1..1000[&cursor=..][&where=..],
// master key only, objectId ascending, {"results": [...], "cursor": token|null}.
// A cursor is opaque and lives SCAN_CURSOR_TTL_MS; an expired or unknown one
// is answered with an error (LeanCloud does not document which; here 400/code 1).
const scanCursors = new Map(); // token -> {className, where, last, expires}

function scan(req, res) {
  const m = /^\/classes\/([^/?]+)$/.exec(req.path); // mounted at /1.1/scan
  if (!m || req.method !== 'GET') return res.status(404).json({ code: 404, error: 'not found' });
  if (req.headers['x-parse-master-key'] !== MASTER_KEY) {
    return res.status(403).json({ code: 403, error: 'Forbidden to scan a class without the master key.' });
  }
  const className = decodeURIComponent(m[1]);
  const limit = req.query.limit === undefined ? 100 : parseInt(req.query.limit, 10);
  if (!(limit >= 1 && limit <= LC_MAX_LIMIT)) {
    return res.status(400).json({ code: 1, error: `limit must be between 1 and ${LC_MAX_LIMIT}.` });
  }
  let where = {};
  let last = null;
  if (req.query.cursor !== undefined) {
    const entry = scanCursors.get(String(req.query.cursor));
    if (!entry || entry.expires < Date.now() || entry.className !== className) {
      scanCursors.delete(String(req.query.cursor));
      return res.status(400).json({ code: 1, error: 'The scan cursor is invalid or has expired.' });
    }
    scanCursors.delete(String(req.query.cursor));
    where = entry.where;
    last = entry.last;
  } else if (req.query.where !== undefined) {
    try {
      where = JSON.parse(req.query.where);
    } catch (e) {
      return res.status(400).json({ code: 107, error: 'where parameter is not valid JSON' });
    }
  }
  const clauses = [];
  if (where && Object.keys(where).length) clauses.push(where);
  if (last !== null) clauses.push({ objectId: { $gt: last } });
  const query = new URLSearchParams({ order: 'objectId', limit: String(limit) });
  if (clauses.length) query.set('where', JSON.stringify(clauses.length === 1 ? clauses[0] : { $and: clauses }));
  internalGet(`/parse/classes/${encodeURIComponent(className)}?${query}`, req.headers, (err, status, body) => {
    if (err) return res.status(500).json({ code: 1, error: String(err) });
    if (status !== 200) return res.status(status).type('json').send(body);
    const results = JSON.parse(body).results || [];
    let cursor = null;
    if (results.length === limit) {
      cursor = require('crypto').randomBytes(12).toString('base64url');
      scanCursors.set(cursor, {
        className, where, last: results[results.length - 1].objectId, expires: Date.now() + SCAN_CURSOR_TTL_MS,
      });
    }
    res.status(200).json({ results, cursor });
  });
}

function expireScanCursors(req, res) {
  if (req.headers['x-parse-master-key'] !== MASTER_KEY) return res.status(403).json({ code: 403, error: 'master key' });
  const n = scanCursors.size;
  for (const entry of scanCursors.values()) entry.expires = 0;
  res.json({ expired: n });
}

async function main() {
  const api = new ParseServer({
    appId: APP_ID,
    masterKey: MASTER_KEY,
    restAPIKey: REST_KEY,
    databaseURI: process.env.DATABASE_URI,
    serverURL: `http://${HOST}:${PORT}/parse`,
    allowClientClassCreation: true,
    // a migration target: client objectIds, and createdAt/updatedAt kept on
    // create with the maintenance key (PARSE_DEFAULTS=1: Parse Server's defaults)
    ...(PARSE_DEFAULTS ? {} : { allowCustomObjectId: true, maintenanceKey: MAINTENANCE_KEY }),
    logLevel: process.env.PARSE_LOG_LEVEL || 'error',
    silent: process.env.PARSE_SILENT === '1',
    logsFolder: process.env.LOGS_FOLDER || null,
  });
  await api.start();

  const app = express();
  app.use('/parse', api.app);
  app.post('/1.1/__test/expire-scan-cursors', leanCloudHeaders, expireScanCursors);
  app.use('/1.1/scan', leanCloudHeaders, scan);
  app.use('/1.1', leanCloudHeaders, leanCloudLimit, conditionalWrite, api.app);

  const server = app.listen(PORT, HOST, () => {
    process.stdout.write(`ready ${PORT}\n`);
  });
  server.keepAliveTimeout = 65000;

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections && server.closeAllConnections();
    Promise.resolve(api.handleShutdown && api.handleShutdown())
      .catch(() => {})
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// If the process that started us dies without stopping us (SIGKILL of the test
// runner), clean up: run ON_ORPHAN (stops PostgreSQL, removes the temp dir), exit.
function watchParent() {
  const pid = parseInt(process.env.WATCH_PID || '0', 10);
  if (!pid) return;
  setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if (process.env.ON_ORPHAN) {
        try {
          require('child_process').execSync(process.env.ON_ORPHAN, { stdio: 'ignore', timeout: 20000 });
        } catch (e2) {
          /* nothing more to do */
        }
      }
      process.exit(0);
    }
  }, 1000).unref();
}

watchParent();
main().catch((err) => {
  console.error('server.js failed to start:', err && err.stack ? err.stack : err);
  process.exit(1);
});

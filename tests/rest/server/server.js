// Parse Server for cql's REST tests, in express-middleware mode.
//
// One ParseServer instance mounted twice:
//   /parse  plain Parse REST API (X-Parse-* headers)
//   /1.1    "LeanCloud flavor": X-LC-* headers mapped onto X-Parse-*, query
//           limits capped at 1000 like LeanCloud, and LeanCloud's conditional
//           write (PUT/DELETE /classes/C/id?where=...) answered with code 305
//           when the object does not match.
// Configuration from the environment: PORT, DATABASE_URI, APP_ID, MASTER_KEY,
// REST_KEY. Prints "ready <port>" on stdout once /parse/health answers.
'use strict';

const express = require('express');
const http = require('http');
const { ParseServer } = require('parse-server');

const PORT = parseInt(process.env.PORT || '1337', 10);
const HOST = '127.0.0.1';
const APP_ID = process.env.APP_ID || 'testapp';
const MASTER_KEY = process.env.MASTER_KEY || 'testmaster';
const REST_KEY = process.env.REST_KEY || 'testrest';
const LC_MAX_LIMIT = 1000;

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
  const headers = {};
  for (const k of ['x-parse-application-id', 'x-parse-master-key', 'x-parse-rest-api-key', 'x-parse-session-token']) {
    if (req.headers[k]) headers[k] = req.headers[k];
  }
  const sub = http.request(
    { host: HOST, port: PORT, path: `/parse/classes/${m[1]}?${query}`, method: 'GET', headers },
    (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => {
        let parsed = {};
        try {
          parsed = JSON.parse(body);
        } catch (e) {
          /* fall through */
        }
        if (r.statusCode !== 200) return res.status(r.statusCode).type('json').send(body);
        if (!parsed.count) return res.status(400).json({ code: 305, error: 'No effect on updating/deleting a document.' });
        // Strip `where` so Parse Server sees a plain write.
        const url = new URL(req.url, 'http://x');
        url.searchParams.delete('where');
        req.url = url.pathname + url.search;
        next();
      });
    }
  );
  sub.on('error', (e) => res.status(500).json({ code: 1, error: String(e) }));
  sub.end();
}

async function main() {
  const api = new ParseServer({
    appId: APP_ID,
    masterKey: MASTER_KEY,
    restAPIKey: REST_KEY,
    databaseURI: process.env.DATABASE_URI,
    serverURL: `http://${HOST}:${PORT}/parse`,
    allowClientClassCreation: true,
    logLevel: process.env.PARSE_LOG_LEVEL || 'error',
    silent: process.env.PARSE_SILENT === '1',
    logsFolder: process.env.LOGS_FOLDER || null,
  });
  await api.start();

  const app = express();
  app.use('/parse', api.app);
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

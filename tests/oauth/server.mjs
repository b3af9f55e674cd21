// SPDX-License-Identifier: MIT
//
// A real OAuth2 authorization server for mailhaul's tests: oidc-provider on
// http://127.0.0.1:PORT with the behaviour of Google's and Microsoft's token endpoints that
// mailhaul depends on.
//
//   node server.mjs CONFIG.json [PORT]      (PORT also from $OAUTH_PORT or config.port; 0 = any)
//
// Prints one line "READY <port>" on stdout once it listens. CONFIG.json (written by
// tests/harness/mhtest/oauth.py):
//
//   issuer_host       "127.0.0.1" (default)
//   clients           oidc-provider client metadata, passed through
//   resource          resource indicator that every token is for (default "https://mail.test/")
//   scopes            scopes that resource accepts (e.g. "https://mail.google.com/")
//   access_token_ttl  seconds (default 3600); refresh_token_ttl (default 14 days)
//   device_interval   seconds a device-flow client must wait between polls (default 5);
//                     polling faster answers slow_down and adds 5 s (RFC 8628 3.5)
//   accounts          optional {login: email}; by default the e-mail is the login name
//   jwt_bearer        {client_id, public_key (PEM), issuer (default client_id),
//                      audience (default the token endpoint URL)}: the RS256-signed assertion
//                      grant urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523), as Google
//                      uses for service accounts; the JWT's sub is the mailbox
//   device_blocked    true: Entra ID with a Conditional Access policy that blocks the device
//                     code flow. /device/auth still hands out a code and polls answer
//                     authorization_pending until the user has signed in on the device page;
//                     from then on the poll answers HTTP 400 invalid_grant AADSTS53003 (and
//                     the code is used up) instead of tokens. A denied code still answers
//                     access_denied. Sources: the block shows only after sign-in, on the
//                     verification page, with error code 53003 (Azure/azure-cli#32420,
//                     #32621), and the polling client then gets "AADSTS53003: Access has been
//                     blocked by Conditional Access policies. The access policy does not allow
//                     token issuance." (Azure/azure-cli#32809) as an invalid_grant error
//                     (Azure/azure-cli#32544); the body's fields are Entra's token error
//                     shape (error_codes, timestamp, trace_id, correlation_id, error_uri).
//
// Behaviour beyond oidc-provider's defaults: refresh tokens are issued whenever the client may
// use the refresh_token grant (no offline_access + prompt=consent needed) and rotate on every
// use (replaying an old one answers invalid_grant and revokes the grant); access tokens are
// opaque (introspectable) and carry email/username for Dovecot's oauth2 passdb; the device
// authorization response includes "interval". devInteractions are on: any password signs in,
// the user is the login name.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import * as querystring from 'node:querystring';

import Provider, { errors } from 'oidc-provider';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node server.mjs CONFIG.json [PORT]');
  process.exit(2);
}
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const port = Number(process.argv[3] ?? process.env.OAUTH_PORT ?? cfg.port ?? 0);
const host = cfg.issuer_host || '127.0.0.1';
const resource = cfg.resource || 'https://mail.test/';
const scopes = cfg.scopes || ['https://mail.google.com/'];
const accessTokenTTL = Number(cfg.access_token_ttl || 3600);
const refreshTokenTTL = Number(cfg.refresh_token_ttl || 14 * 24 * 3600);
const deviceInterval = Number(cfg.device_interval ?? 5);
const accounts = cfg.accounts || {};
const deviceBlocked = cfg.device_blocked === true;

const emailOf = (accountId) => accounts[accountId] || accountId;

function resourceServerInfo() {
  return {
    scope: scopes.join(' '),
    accessTokenFormat: 'opaque',
    accessTokenTTL,
  };
}

// A private signing key so that oidc-provider does not use (and warn about) its dev keys.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };

function listen(server, wanted) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, host, () => resolve(server.address().port));
  });
}

const server = http.createServer();
server.keepAliveTimeout = 75_000; // above Dovecot's HTTP client idle time (60 s)
server.headersTimeout = 76_000;
const actualPort = await listen(server, port);
const issuer = `http://${host}:${actualPort}`;

const provider = new Provider(issuer, {
  clients: cfg.clients || [],
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: emailOf(id) }),
  }),
  claims: { openid: ['sub'], email: ['email'] },
  scopes: ['openid', 'offline_access', 'email'],
  pkce: { required: () => true },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return resourceServerInfo();
      },
    },
  },
  extraTokenClaims: async (_ctx, token) => {
    if (!token.accountId) return undefined;
    return { email: emailOf(token.accountId), username: token.accountId };
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: accessTokenTTL,
    ClientCredentials: accessTokenTTL,
    RefreshToken: refreshTokenTTL,
    DeviceCode: 600,
    Grant: refreshTokenTTL,
    Interaction: 600,
    Session: 3600,
  },
});
provider.proxy = false;

// -- the JWT-bearer grant (RFC 7523), as Google's service accounts use it ------------------

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

async function jwtBearerGrant(ctx) {
  const { client, params } = ctx.oidc;
  const jb = cfg.jwt_bearer;
  if (!jb || client.clientId !== jb.client_id) {
    throw new errors.UnauthorizedClient('this client may not use the jwt-bearer grant');
  }
  const parts = String(params.assertion || '').split('.');
  if (parts.length !== 3) throw new errors.InvalidGrant('malformed assertion');
  let header;
  let claims;
  try {
    header = b64json(parts[0]);
    claims = b64json(parts[1]);
  } catch {
    throw new errors.InvalidGrant('malformed assertion');
  }
  if (header.alg !== 'RS256') throw new errors.InvalidGrant('assertion must be signed with RS256');
  const signed = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`),
    crypto.createPublicKey(jb.public_key), Buffer.from(parts[2], 'base64url'));
  if (!signed) throw new errors.InvalidGrant('invalid assertion signature');
  const now = Math.floor(Date.now() / 1000);
  const wantIss = jb.issuer || jb.client_id;
  const wantAud = jb.audience || ctx.oidc.urlFor('token');
  if (claims.iss !== wantIss) throw new errors.InvalidGrant('assertion iss mismatch');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(wantAud)) throw new errors.InvalidGrant('assertion aud mismatch');
  if (typeof claims.exp !== 'number' || claims.exp <= now - 5) {
    throw new errors.InvalidGrant('assertion expired');
  }
  if (typeof claims.iat === 'number' && (claims.iat > now + 60 || claims.exp - claims.iat > 3600)) {
    throw new errors.InvalidGrant('assertion iat invalid or lifetime above one hour');
  }
  const accountId = claims.sub || claims.iss;
  const requested = String(claims.scope || params.scope || '').split(' ').filter(Boolean);
  const info = resourceServerInfo();
  const granted = requested.filter((s) => scopes.includes(s));
  if (requested.length && !granted.length) throw new errors.InvalidScope('no known scope requested', requested.join(' '));

  const token = new provider.AccessToken({
    accountId,
    client,
    scope: granted.join(' ') || undefined,
  });
  token.resourceServer = new provider.ResourceServer(resource, info);
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    expires_in: token.expiration,
    token_type: 'Bearer',
    scope: token.scope || undefined,
  };
}
provider.registerGrantType(JWT_BEARER, jwtBearerGrant, ['assertion', 'scope']);

// -- the token endpoint's body: Google-style jwt-bearer requests carry no client_id, and
// device-flow polls are rate-checked (slow_down) -------------------------------------------

const polls = new Map(); // device_code -> { last: ms, interval: s }

// device_blocked: once the user has signed in for a device code, answer its poll as Entra ID
// does when Conditional Access blocks the device code flow. Returns whether it answered.
async function deviceBlockedAnswer(ctx, deviceCode) {
  const code = await provider.DeviceCode.find(deviceCode, { ignoreExpiration: true });
  if (!code || !code.accountId || code.error || code.consumed || code.isExpired) return false;
  await code.consume();
  const now = new Date();
  const stamp = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    error: 'invalid_grant',
    error_description: 'AADSTS53003: Access has been blocked by Conditional Access policies. '
      + 'The access policy does not allow token issuance. '
      + `Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${stamp}`,
    error_codes: [53003],
    timestamp: stamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${issuer}/error?code=53003`,
  };
  return true;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token'
      && ctx.is('application/x-www-form-urlencoded')) {
    const raw = await readBody(ctx.req);
    const body = querystring.parse(raw);
    if (body.grant_type === JWT_BEARER && !body.client_id && !ctx.get('authorization')
        && cfg.jwt_bearer) {
      body.client_id = cfg.jwt_bearer.client_id;
    }
    if (body.grant_type === DEVICE_CODE && typeof body.device_code === 'string') {
      const now = Date.now();
      const st = polls.get(body.device_code);
      if (st && now - st.last < st.interval * 1000 - 50) {
        st.interval += 5;
        st.last = now;
        ctx.status = 400;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = {
          error: 'slow_down',
          error_description: `polling too fast: wait ${st.interval} s between requests`,
        };
        return;
      }
      polls.set(body.device_code, { last: now, interval: st ? st.interval : deviceInterval });
      if (deviceBlocked && await deviceBlockedAnswer(ctx, body.device_code)) return;
    }
    ctx.req.body = querystring.stringify(body);
  }
  await next();
  if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)) {
    ctx.body = { ...ctx.body, interval: deviceInterval };
  }
});

server.on('request', provider.callback());
process.stdout.write(`READY ${actualPort}\n`);

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
// The harness holds our stdin: when it goes away (even SIGKILL), we go too.
if (process.env.OAUTH_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

// A real OpenID provider for the OAuth tests: npm `oidc-provider` (a certified
// implementation) on loopback, configured with what the tests need and nothing else.
//
//   node provider.mjs            prints `issuer <url>` once it listens on a free port
//
// - Clients (client_secret_basic):
//     mcp-agent / agent-secret    client_credentials, scopes `tools:read tools:admin`
//     airlock-proxy / proxy-secret client_credentials and token exchange (RFC 8693)
// - Resource indicators (RFC 8707): any loopback URI is a resource; its access tokens
//   are JWTs (RFC 9068) for it alone, or opaque when its host is `localhost`
//   (introspected, RFC 7662, by the client tools-server / introspection-secret). `https://other.example.com/mcp` is a resource too,
//   for the tests' "token for another resource".
// - Token exchange (RFC 8693), registered as the provider's documented extension point
//   (`registerGrantType`): a subject token this provider issued, exchanged for a token of
//   the requested resource, same subject, `act` naming the exchanging client. Every
//   exchange is counted at GET /__exchanges.
// - POST /__rotate: a new signing key, published first in the JWKS (the old one kept);
//   tokens issued after it carry the new `kid`.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const SCOPES = 'tools:read tools:admin';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `key-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

function isResource(uri) {
  try {
    const url = new URL(uri);
    return (['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol === 'http:')
      || uri === 'https://other.example.com/mcp';
  } catch {
    return false;
  }
}

let keys = [newKey()];
let exchanges = 0;
let issuer;

function build() {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'mcp-agent',
        client_secret: 'agent-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: SCOPES,
      },
      {
        client_id: 'tools-server',
        client_secret: 'introspection-secret',
        grant_types: [],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: 'airlock-proxy',
        client_secret: 'proxy-secret',
        grant_types: ['client_credentials', EXCHANGE],
        redirect_uris: [],
        response_types: [],
        scope: SCOPES,
      },
    ],
    jwks: { keys },
    scopes: ['openid', ...SCOPES.split(' ')],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resource) {
          if (!isResource(resource)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: SCOPES,
            audience: resource,
            accessTokenTTL: 600,
            // A resource named by `localhost` gets opaque tokens (introspected).
            accessTokenFormat: new URL(resource).hostname === 'localhost' ? 'opaque' : 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  provider.registerGrantType(EXCHANGE, exchange, [
    'subject_token', 'subject_token_type', 'resource', 'audience', 'scope', 'requested_token_type',
  ]);
  return provider;
}

async function exchange(ctx) {
  const params = ctx.oidc.params;
  const client = ctx.oidc.client;
  if (params.subject_token_type !== ACCESS_TOKEN || !params.subject_token) {
    throw new errors.InvalidRequest('subject_token must be an access token');
  }
  const target = params.resource || params.audience;
  if (!target || !isResource(target)) {
    throw new errors.InvalidTarget();
  }
  const publicKeys = jose.createLocalJWKSet({
    keys: keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  });
  let subject;
  try {
    ({ payload: subject } = await jose.jwtVerify(params.subject_token, publicKeys, { issuer }));
  } catch (e) {
    throw new errors.InvalidGrant(`the subject token does not verify: ${e.message}`);
  }
  const held = (subject.scope || '').split(' ').filter(Boolean);
  const asked = params.scope ? params.scope.split(' ') : held;
  const scope = asked.filter((s) => held.includes(s)).join(' ');
  const now = Math.floor(Date.now() / 1000);
  const expires = Math.min(subject.exp, now + 300);
  const key = keys[0];
  const signing = await jose.importJWK(key, 'RS256');
  const token = await new jose.SignJWT({
    scope, client_id: client.clientId, act: { sub: client.clientId },
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setSubject(subject.sub)
    .setAudience(target)
    .setIssuedAt(now)
    .setExpirationTime(expires)
    .setJti(crypto.randomUUID())
    .sign(signing);
  exchanges += 1;
  ctx.body = {
    access_token: token,
    issued_token_type: ACCESS_TOKEN,
    token_type: 'Bearer',
    expires_in: expires - now,
    scope,
  };
}

let provider;
const server = http.createServer((req, res) => {
  if (req.url === '/__rotate' && req.method === 'POST') {
    keys = [newKey(), ...keys];
    provider = build();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  if (req.url === '/__exchanges') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ exchanges }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build();
  console.log(`issuer ${issuer}`);
});

// A Logto-like OpenID provider for the SDK's end-to-end tests, built on the
// same engine as Logto (the npm package oidc-provider) and configured the way
// Logto configures it. It is a test fixture: one client, one user, state in
// memory, test-only admin routes. Never expose it.
//
// Configuration: environment variables, or --name=value flags with the same
// names in lower case (--port=4000 beats PORT=4000):
//
//   PORT                      listen port on 127.0.0.1 (0: any free port)
//   BASE_URL                  public base URL; the issuer is BASE_URL/oidc
//   CLIENT_ID, CLIENT_SECRET  the confidential web client (client_secret_basic)
//   REDIRECT_URI              its redirect URI
//   POST_LOGOUT_REDIRECT_URI  its post-logout redirect URI
//   ACCESS_TOKEN_TTL          access token lifetime in seconds (default 3600)
//   EXTRA_ORGANIZATIONS       more organizations the e2e user belongs to, with
//                             Logto-shaped IDs (default 0): a large ID token
//   EXTRA_RESOURCES           more API resources, https://api-<i>.example.com
//                             with the scope read:messages (default 0)
//
// See README.md beside this file for what is Logto-like and how organization
// tokens are built from the engine's extension points.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

// ---------------------------------------------------------------- settings

function setting(name, fallback) {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}=`;
  const arg = process.argv.slice(2).find((a) => a.startsWith(flag));
  if (arg !== undefined) return arg.slice(flag.length);
  const env = process.env[name];
  return env !== undefined && env !== '' ? env : fallback;
}

const PORT = Number(setting('PORT', '0'));
const CLIENT_ID = setting('CLIENT_ID', 'e2e-client');
const CLIENT_SECRET = setting('CLIENT_SECRET', 'e2e-secret-0123456789abcdef0123456789abcdef');
const ACCESS_TOKEN_TTL = Number(setting('ACCESS_TOKEN_TTL', '3600'));
if (!Number.isInteger(ACCESS_TOKEN_TTL) || ACCESS_TOKEN_TTL <= 0) {
  throw new TypeError(`ACCESS_TOKEN_TTL must be a positive integer, got ${setting('ACCESS_TOKEN_TTL')}`);
}
const EXTRA_ORGANIZATIONS = Number(setting('EXTRA_ORGANIZATIONS', '0'));
if (!Number.isInteger(EXTRA_ORGANIZATIONS) || EXTRA_ORGANIZATIONS < 0) {
  throw new TypeError(`EXTRA_ORGANIZATIONS must be a non-negative integer, got ${setting('EXTRA_ORGANIZATIONS')}`);
}
const EXTRA_RESOURCES = Number(setting('EXTRA_RESOURCES', '0'));
if (!Number.isInteger(EXTRA_RESOURCES) || EXTRA_RESOURCES < 0) {
  throw new TypeError(`EXTRA_RESOURCES must be a non-negative integer, got ${setting('EXTRA_RESOURCES')}`);
}

// --------------------------------------------------------------- directory

// Logto's resource indicator for organization tokens, and the audience an
// organization token carries.
const ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations';
const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';
const ORGANIZATION_ROLES_SCOPE = 'urn:logto:scope:organization_roles';
const organizationAudience = (id) => `urn:logto:organization:${id}`;

// API resources (Logto: "API resources" with their permissions).
const API_RESOURCES = {
  'https://api.example.com': { scope: 'read:messages write:messages read:reports' },
};
for (let i = 1; i <= EXTRA_RESOURCES; i++) {
  API_RESOURCES[`https://api-${i}.example.com`] = { scope: 'read:messages' };
}

// Organization template: permissions every organization knows.
const ORGANIZATION_PERMISSIONS = 'read:members invite:members';

const ORGANIZATIONS = {
  'org-e2e': { name: 'E2E Organization', description: 'Where the e2e user works' },
  'org-other': { name: 'Other Organization', description: 'No e2e user here' },
};

// logtoLikeId is the i-th extra organization's ID, shaped like Logto's
// (12 characters of [0-9a-z]) and the same every run.
function logtoLikeId(i) {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  const digest = crypto.createHash('sha256').update(`organization ${i}`).digest();
  return Array.from(digest.subarray(0, 12), (b) => alphabet[b % alphabet.length]).join('');
}

const nowMs = Date.now();
const ACCOUNTS = {
  'e2e-user': {
    username: 'e2e',
    name: 'E2E User',
    picture: 'https://example.com/e2e.png',
    email: 'e2e@example.com',
    email_verified: true,
    phone_number: '+15550100',
    phone_number_verified: false,
    roles: ['admin'],
    // organization id -> membership (roles and the permissions they give)
    organizations: { 'org-e2e': { roles: ['member'], scope: 'read:members' } },
    custom_data: { plan: 'pro' },
    identities: {},
    sso_identities: [],
    created_at: nowMs, // Logto: milliseconds
    updated_at: nowMs,
  },
};

// A user in many organizations, as Logto users of big tenants are: each
// extra organization gives the role "member" and read:members.
for (let i = 0; i < EXTRA_ORGANIZATIONS; i += 1) {
  const id = logtoLikeId(i);
  ORGANIZATIONS[id] = { name: `Organization ${i}`, description: 'One of many' };
  ACCOUNTS['e2e-user'].organizations[id] = { roles: ['member'], scope: 'read:members' };
}

function accountClaims(accountId, use) {
  const a = ACCOUNTS[accountId];
  const orgIds = Object.keys(a.organizations);
  const claims = {
    sub: accountId,
    name: a.name,
    username: a.username,
    picture: a.picture,
    created_at: a.created_at,
    updated_at: a.updated_at,
    email: a.email,
    email_verified: a.email_verified,
    phone_number: a.phone_number,
    phone_number_verified: a.phone_number_verified,
    roles: a.roles,
    organizations: orgIds,
    organization_roles: orgIds.flatMap((id) => a.organizations[id].roles.map((r) => `${id}:${r}`)),
  };
  if (use === 'userinfo') {
    // Logto answers these at the userinfo endpoint only, never in the ID token.
    claims.custom_data = a.custom_data;
    claims.identities = a.identities;
    claims.sso_identities = a.sso_identities;
    claims.organization_data = orgIds.map((id) => ({ id, ...ORGANIZATIONS[id] }));
  }
  return claims;
}

// ------------------------------------------------------------------- state

// What the admin routes report.
const stats = {
  grants: {}, // grant_type -> successful token responses
  grantErrors: {}, // grant_type -> { error code -> count }
  revokedGrants: 0,
  revocations: 0, // successful answers of the revocation endpoint
  endSessions: 0,
};
// The newest refresh token issued, per account: the one a well-behaved client
// holds. Tests present it after sign-out to check it was revoked.
const latestRefreshToken = {};

// ----------------------------------------------------------------- signing

// Logto's default signing key: EC P-384 (ES384). A fresh one per process.
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES384', use: 'sig' };
signingKey.kid = crypto.createHash('sha256').update(signingKey.x + signingKey.y).digest('base64url').slice(0, 16);

// ---------------------------------------------------- organization tokens

// isTokenRoute tells the token endpoint from the authorization endpoint: at
// the latter, organization_id only picks an organization's sign-in experience.
const isTokenRoute = (ctx) => ctx.oidc?.route === 'token';
const organizationParam = (ctx) => (isTokenRoute(ctx) ? ctx.oidc.params.organization_id : undefined);

function jwtResourceServer(audience, scope) {
  return {
    audience,
    scope,
    accessTokenFormat: 'jwt',
    accessTokenTTL: ACCESS_TOKEN_TTL,
    jwt: { sign: { alg: 'ES384' } },
  };
}

// Checks Logto makes before an organization token is minted. They run before
// the engine's refresh_token handler, so a refusal does not spend (rotate) the
// refresh token. An unknown, expired or spent refresh token is left to the
// engine, which answers invalid_grant as for any refresh.
async function checkOrganizationRequest(ctx) {
  const orgId = ctx.oidc.params.organization_id;
  if (orgId === undefined) return;
  if (orgId === '') {
    throw new errors.InvalidRequest('organization_id must not be empty');
  }
  const rt = await ctx.oidc.provider.RefreshToken.find(ctx.oidc.params.refresh_token, { ignoreExpiration: true });
  if (!rt || rt.clientId !== ctx.oidc.client.clientId || rt.isExpired || rt.consumed) return;

  if (!rt.scopes.has(ORGANIZATIONS_SCOPE)) {
    throw new errors.InsufficientScope('refresh token missing required scope', ORGANIZATIONS_SCOPE);
  }
  const account = ACCOUNTS[rt.accountId];
  if (!account || !ORGANIZATIONS[orgId] || !account.organizations[orgId]) {
    const err = new errors.AccessDenied('user is not a member of the organization');
    err.status = 403;
    err.statusCode = 403;
    throw err;
  }
  if (ctx.oidc.params.resource === undefined) {
    const granted = [rt.resource ?? []].flat();
    if (!granted.includes(ORGANIZATIONS_RESOURCE)) {
      throw new errors.InvalidTarget(`${ORGANIZATIONS_RESOURCE} was not in the authorization request`);
    }
  }
}

// LogtoLikeProvider changes how the engine registers its own refresh_token
// grant: the token endpoint then also accepts organization_id, and the
// organization checks run before the engine's handler. The engine calls
// registerGrantType for its built-in grants while it is constructed, so an
// override is the one place to wrap its handler without copying it.
class LogtoLikeProvider extends Provider {
  registerGrantType(name, handler, params, dupes) {
    if (name === 'refresh_token') {
      const engineHandler = handler;
      const withOrganizations = async (ctx) => {
        await checkOrganizationRequest(ctx);
        return engineHandler(ctx);
      };
      return super.registerGrantType(name, withOrganizations, new Set([...params, 'organization_id']), dupes);
    }
    return super.registerGrantType(name, handler, params, dupes);
  }
}

// ----------------------------------------------------------- the provider

function buildProvider(base, redirectURI, postLogoutRedirectURI) {
  const issuer = `${base}/oidc`;
  const provider = new LogtoLikeProvider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        client_name: 'E2E web app',
        application_type: 'web',
        redirect_uris: [redirectURI],
        post_logout_redirect_uris: [postLogoutRedirectURI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES384',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },

    // Logto's scopes and the claims each one adds.
    scopes: ['openid', 'offline_access', 'profile', 'email', 'phone', 'roles', 'custom_data', 'identities',
      ORGANIZATIONS_SCOPE, ORGANIZATION_ROLES_SCOPE],
    claims: {
      openid: ['sub'],
      profile: ['name', 'username', 'picture', 'created_at', 'updated_at'],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
      roles: ['roles'],
      custom_data: ['custom_data'],
      identities: ['identities', 'sso_identities'],
      [ORGANIZATIONS_SCOPE]: ['organizations', 'organization_data'],
      [ORGANIZATION_ROLES_SCOPE]: ['organization_roles'],
    },
    // Logto puts the scopes' claims in the ID token of the code flow too.
    conformIdTokenClaims: false,
    // Logto's extra authorization parameters.
    extraParams: ['first_screen', 'interaction_mode', 'identifier', 'direct_sign_in', 'organization_id'],

    async findAccount(ctx, sub) {
      if (!ACCOUNTS[sub]) return undefined;
      return {
        accountId: sub,
        async claims(use) {
          return accountClaims(sub, use);
        },
      };
    },

    pkce: { required: () => true },
    rotateRefreshToken: true,
    // The engine already drops offline_access unless prompt has consent;
    // Logto then issues a refresh token for it.
    async issueRefreshToken(ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },

    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },

    // ID tokens are signed with the P-384 key only.
    enabledJWA: { idTokenSigningAlgValues: ['ES384'] },

    features: {
      devInteractions: { enabled: true }, // the engine's own login and consent pages
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // An organization token is minted for the organizations resource the
        // grant holds, whatever else it holds.
        async useGrantedResource(ctx) {
          return organizationParam(ctx) !== undefined;
        },
        async defaultResource(ctx, client, oneOf) {
          if (oneOf && organizationParam(ctx) !== undefined && oneOf.includes(ORGANIZATIONS_RESOURCE)) {
            return ORGANIZATIONS_RESOURCE;
          }
          return oneOf;
        },
        async getResourceServerInfo(ctx, indicator) {
          const orgId = organizationParam(ctx);
          if (indicator === ORGANIZATIONS_RESOURCE) {
            if (orgId !== undefined) {
              return jwtResourceServer(organizationAudience(orgId), ORGANIZATION_PERMISSIONS);
            }
            return jwtResourceServer(ORGANIZATIONS_RESOURCE, ORGANIZATION_PERMISSIONS);
          }
          const api = API_RESOURCES[indicator];
          if (!api) throw new errors.InvalidTarget();
          return jwtResourceServer(indicator, api.scope);
        },
      },
    },

    // An organization-scoped token for an API resource names its organization.
    async extraTokenClaims(ctx, token) {
      const orgId = organizationParam(ctx);
      if (orgId !== undefined && token.resourceServer && token.resourceServer.audience !== organizationAudience(orgId)) {
        return { organization_id: orgId };
      }
      return undefined;
    },
    formats: {
      customizers: {
        // Logto re-reads organization permissions on every refresh: the
        // organization token's scope is what the user's roles give now.
        async jwt(ctx, token, jwt) {
          const orgId = organizationParam(ctx);
          if (orgId !== undefined && jwt.payload.aud === organizationAudience(orgId)) {
            const membership = ACCOUNTS[token.accountId]?.organizations[orgId];
            const scope = membership ? membership.scope : '';
            if (scope) jwt.payload.scope = scope;
            else delete jwt.payload.scope;
          }
          return jwt;
        },
      },
    },
  });

  provider.on('grant.success', (ctx) => {
    const gty = ctx.oidc.params.grant_type;
    stats.grants[gty] = (stats.grants[gty] ?? 0) + 1;
  });
  provider.on('grant.error', (ctx, err) => {
    const gty = ctx.oidc?.params?.grant_type ?? 'unknown';
    const code = err.error ?? 'server_error';
    stats.grantErrors[gty] ??= {};
    stats.grantErrors[gty][code] = (stats.grantErrors[gty][code] ?? 0) + 1;
  });
  provider.on('grant.revoked', () => { stats.revokedGrants += 1; });
  provider.on('end_session.success', () => { stats.endSessions += 1; });
  provider.on('refresh_token.saved', (token) => {
    if (!token.consumed) latestRefreshToken[token.accountId] = token.jti;
  });
  provider.on('server_error', (ctx, err) => {
    console.error('server_error', ctx.method, ctx.path, err);
  });
  return provider;
}

// ------------------------------------------------------------ admin routes

// Test-only: counters, and the newest refresh token of an account.
function admin(req, res, url) {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'GET') return send(405, { error: 'method_not_allowed' });
  switch (url.pathname) {
    case '/__test/grants':
      return send(200, {
        grants: stats.grants,
        grant_errors: stats.grantErrors,
        refresh_grants: stats.grants.refresh_token ?? 0,
        revoked_grants: stats.revokedGrants,
        revocations: stats.revocations,
        end_sessions: stats.endSessions,
      });
    case '/__test/refresh-token': {
      const account = url.searchParams.get('account') ?? 'e2e-user';
      const token = latestRefreshToken[account];
      if (!token) return send(404, { error: 'no refresh token issued for that account' });
      return send(200, { refresh_token: token });
    }
    default:
      return send(404, { error: 'not_found' });
  }
}

// ------------------------------------------------------------------ server

const server = http.createServer();
server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  const base = setting('BASE_URL', `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const redirectURI = setting('REDIRECT_URI', 'http://127.0.0.1:3000/callback');
  const postLogoutRedirectURI = setting('POST_LOGOUT_REDIRECT_URI', 'http://127.0.0.1:3000/');
  const provider = buildProvider(base, redirectURI, postLogoutRedirectURI);
  const callback = provider.callback();

  server.on('request', (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname.startsWith('/__test/')) {
      admin(req, res, url);
      return;
    }
    if (url.pathname === '/oidc' || url.pathname.startsWith('/oidc/')) {
      // Mounted under /oidc like Logto: the engine routes on the rest of the
      // path and derives its URLs from originalUrl.
      if (req.method === 'POST' && url.pathname === '/oidc/token/revocation') {
        // The engine emits no event for a successful revocation.
        res.on('finish', () => { if (res.statusCode === 200) stats.revocations += 1; });
      }
      req.originalUrl = req.url;
      req.url = req.url.slice('/oidc'.length) || '/';
      callback(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  console.log(`e2e provider listening on http://127.0.0.1:${port} (issuer ${base}/oidc, client ${CLIENT_ID})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

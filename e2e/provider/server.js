// A Logto-like OpenID provider for the SDK's end-to-end tests, built on the
// same engine as Logto (the npm package oidc-provider) and configured the way
// Logto configures it. It is a test fixture: a web client, a machine-to-machine
// app, a native app, one user, state in memory, test-only admin routes. Never
// expose it.
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
//   DEVICE_POLL_INTERVAL      seconds a device-flow client must wait between
//                             polls (default 5); when set, the device
//                             authorization answer carries it as `interval`
//   REQUIRE_PAR               1: every authorization request must be pushed
//                             first (RFC 9126); default 0, as Logto
//
// The other clients are fixed: e2e-m2m and e2e-noexchange (machine-to-machine,
// client_secret_basic) and e2e-native (public, loopback redirect URI, device
// flow). See README.md beside this file for what is Logto-like, how
// organization tokens, client credentials, token exchange and step-up
// authentication are built from the engine's extension points, and the
// test-only routes.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

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
// Logto sends no `interval` (clients then wait RFC 8628's default, 5 s); the
// tests set one to poll faster, and then it is announced.
const DEVICE_POLL_INTERVAL_SET = setting('DEVICE_POLL_INTERVAL') !== undefined;
const DEVICE_POLL_INTERVAL = Number(setting('DEVICE_POLL_INTERVAL', '5'));
if (!Number.isInteger(DEVICE_POLL_INTERVAL) || DEVICE_POLL_INTERVAL <= 0) {
  throw new TypeError(`DEVICE_POLL_INTERVAL must be a positive integer, got ${setting('DEVICE_POLL_INTERVAL')}`);
}
// Logto accepts pushed authorization requests and never requires them; tests
// of a client's PAR can make them mandatory.
const REQUIRE_PAR = setting('REQUIRE_PAR', '0');
if (REQUIRE_PAR !== '0' && REQUIRE_PAR !== '1') {
  throw new TypeError(`REQUIRE_PAR must be 0 or 1, got ${REQUIRE_PAR}`);
}

// --------------------------------------------------------------- directory

// Logto's resource indicator for organization tokens, and the audience an
// organization token carries.
const ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations';
const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';
const ORGANIZATION_ROLES_SCOPE = 'urn:logto:scope:organization_roles';
const organizationAudience = (id) => `urn:logto:organization:${id}`;

// API resources (Logto: "API resources" with their permissions). Logto's
// access tokens for an API resource are always JWTs; the opaque one is this
// fixture's way to get opaque access tokens with an audience, for APIs that
// check tokens by introspection (RFC 7662).
const OPAQUE_RESOURCE = 'https://opaque.example.com';
const API_RESOURCES = {
  'https://api.example.com': { scope: 'read:messages write:messages read:reports' },
  [OPAQUE_RESOURCE]: { scope: 'read:messages read:reports', format: 'opaque' },
};
for (let i = 1; i <= EXTRA_RESOURCES; i++) {
  API_RESOURCES[`https://api-${i}.example.com`] = { scope: 'read:messages' };
}

// Logto's Authentication Context Class References (acr_values_supported, in
// this order) and what the e2e login form achieves: a password always; with
// the account's second factor too when the request asked for MFA first.
const ACR_1FA = 'urn:logto:acr:1fa';
const ACR_MFA = 'urn:logto:acr:mfa';
const ACR_VALUES = [ACR_1FA, ACR_MFA];
const AMR_PASSWORD = ['pwd'];
const AMR_PASSWORD_TOTP = ['pwd', 'otp', 'mfa']; // Logto adds `mfa` last whenever acr is mfa

// Organization template: permissions every organization knows.
const ORGANIZATION_PERMISSIONS = 'read:members invite:members';

const ORGANIZATIONS = {
  'org-e2e': { name: 'E2E Organization', description: 'Where the e2e user works' },
  'org-other': { name: 'Other Organization', description: 'No e2e user here' },
};

// Grants beyond the browser: token exchange (RFC 8693) with the subject token
// types Logto takes, and the device flow (RFC 8628).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const PERSONAL_ACCESS_TOKEN_TYPE = 'urn:logto:token-type:personal_access_token';
const IMPERSONATION_TOKEN_TYPE = 'urn:logto:token-type:impersonation_token';
// Logto's impersonation subject tokens (Management API POST /subject-tokens)
// start with this and last 10 minutes.
const SUBJECT_TOKEN_PREFIX = 'sub_';
const SUBJECT_TOKEN_TTL = 600;

// The fixed clients beside the configurable web client. Logto builds every
// app's grant_types from its type, and adds the token-exchange grant when the
// app's "allow token exchange" switch (customClientMetadata.allowTokenExchange)
// is on; the engine then refuses any other client with invalid_request.
const M2M_CLIENT_ID = 'e2e-m2m';
const M2M_CLIENT_SECRET = 'e2e-m2m-secret';
const NOEXCHANGE_CLIENT_ID = 'e2e-noexchange';
const NOEXCHANGE_CLIENT_SECRET = 'e2e-noexchange-secret';
const NATIVE_CLIENT_ID = 'e2e-native';
const NATIVE_REDIRECT_URI = 'http://127.0.0.1/callback'; // any port matches (RFC 8252 section 7.3)

// Machine-to-machine apps: what their roles give. Logto's client-credentials
// token for an API resource carries the requested scopes the app's
// machine-to-machine roles cover; an app added to an organization gets
// organization roles, giving organization permissions and, for an
// organization-scoped API token, resource permissions.
const M2M_APPS = {
  [M2M_CLIENT_ID]: {
    resources: { 'https://api.example.com': 'read:messages read:reports', [OPAQUE_RESOURCE]: 'read:messages' },
    organizations: {
      'org-e2e': { scope: 'read:members', resources: { 'https://api.example.com': 'read:messages' } },
    },
  },
  [NOEXCHANGE_CLIENT_ID]: {
    resources: { 'https://api.example.com': 'read:messages' },
    organizations: {},
  },
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
    // Enrolled second factors (Logto: the user's MFA verifications).
    mfa: ['totp'],
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
// Personal access tokens (value -> { accountId, expiresAt in ms or null }):
// reusable until they expire. Minted by POST /__test/pat.
const personalAccessTokens = new Map();
// Impersonation subject tokens (value -> { accountId, expiresAt, consumed }):
// single-use, 10 minutes. Minted by POST /__test/subject-token.
const subjectTokens = new Map();
// Device codes being polled (value -> { last: ms, interval: s }).
const devicePolls = new Map();

// ----------------------------------------------------------------- signing

// Logto's default signing key: EC P-384 (ES384). A fresh one per process.
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES384', use: 'sig' };
signingKey.kid = crypto.createHash('sha256').update(signingKey.x + signingKey.y).digest('base64url').slice(0, 16);

// ---------------------------------------------------- organization tokens

// isTokenRoute tells the token endpoint from the authorization endpoint: at
// the latter, organization_id only picks an organization's sign-in experience.
const isTokenRoute = (ctx) => ctx.oidc?.route === 'token';
const organizationParam = (ctx) => (isTokenRoute(ctx) ? ctx.oidc.params.organization_id : undefined);

const grantTypeIs = (ctx, gty) => isTokenRoute(ctx) && ctx.oidc.params.grant_type === gty;

// Logto answers organization refusals with 403 access_denied.
function forbidden(description) {
  const err = new errors.AccessDenied(description);
  err.status = 403;
  err.statusCode = 403;
  return err;
}

const isMember = (accountId, orgId) => Boolean(ORGANIZATIONS[orgId] && ACCOUNTS[accountId]?.organizations[orgId]);

function jwtResourceServer(audience, scope) {
  return {
    audience,
    scope,
    accessTokenFormat: 'jwt',
    accessTokenTTL: ACCESS_TOKEN_TTL,
    jwt: { sign: { alg: 'ES384' } },
  };
}

// apiResourceServer is an API resource's resource server: JWT access tokens,
// or opaque ones (with the same audience, told by introspection) for the
// resource configured so.
function apiResourceServer(indicator, scope) {
  if (API_RESOURCES[indicator]?.format === 'opaque') {
    return { audience: indicator, scope, accessTokenFormat: 'opaque', accessTokenTTL: ACCESS_TOKEN_TTL };
  }
  return jwtResourceServer(indicator, scope);
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
  if (!isMember(rt.accountId, orgId)) {
    throw forbidden('user is not a member of the organization');
  }
  if (ctx.oidc.params.resource === undefined) {
    const granted = [rt.resource ?? []].flat();
    if (!granted.includes(ORGANIZATIONS_RESOURCE)) {
      throw new errors.InvalidTarget(`${ORGANIZATIONS_RESOURCE} was not in the authorization request`);
    }
  }
}

// resourceServerInfo answers features.resourceIndicators.getResourceServerInfo
// (and the token-exchange grant asks it too). A machine-to-machine app gets
// what its roles give for the resource, or, with organization_id, what its
// organization roles give; a user gets every permission of the resource (the
// refresh grant's organization token scope is set by formats.customizers.jwt).
function resourceServerInfo(ctx, indicator, client) {
  const orgId = organizationParam(ctx);
  const app = grantTypeIs(ctx, 'client_credentials') ? M2M_APPS[client?.clientId] : undefined;
  if (indicator === ORGANIZATIONS_RESOURCE) {
    if (orgId !== undefined) {
      const scope = app ? (app.organizations[orgId]?.scope ?? '') : ORGANIZATION_PERMISSIONS;
      return jwtResourceServer(organizationAudience(orgId), scope);
    }
    return jwtResourceServer(ORGANIZATIONS_RESOURCE, ORGANIZATION_PERMISSIONS);
  }
  const api = API_RESOURCES[indicator];
  if (!api) throw new errors.InvalidTarget();
  if (app) {
    const granted = orgId !== undefined ? app.organizations[orgId]?.resources[indicator] : app.resources[indicator];
    return apiResourceServer(indicator, granted ?? '');
  }
  return apiResourceServer(indicator, api.scope);
}

// ------------------------------------------------- step-up authentication

// requestedAcrValues is the supported classes an authorization request asks
// for, in its order and once each; undefined when it has no acr_values, and
// empty when it asks only for classes nobody supports.
function requestedAcrValues(params) {
  const value = params?.acr_values;
  if (typeof value !== 'string' || value === '') return undefined;
  return [...new Set(value.split(' ').filter((acr) => ACR_VALUES.includes(acr)))];
}

// An MFA sign-in also meets a request for one factor.
const acrSatisfies = (achieved, required) => achieved === required || (achieved === ACR_MFA && required === ACR_1FA);

// signInAuthentication is what the e2e login form proves for an account: the
// password (Logto: urn:logto:acr:1fa, amr pwd), and the account's enrolled
// second factor too when the first class the request asks for is MFA (Logto
// then verifies the factor in its sign-in experience; here it is taken as
// verified). A request for MFA by an account without a second factor gets
// one factor, and the acr check below refuses it.
function signInAuthentication(accountId, params) {
  const [first] = requestedAcrValues(params) ?? [];
  if (first === ACR_MFA && ACCOUNTS[accountId]?.mfa?.length > 0) {
    return { acr: ACR_MFA, amr: AMR_PASSWORD_TOTP };
  }
  return { acr: ACR_1FA, amr: AMR_PASSWORD };
}

// acrCheck makes acr_values binding, as Logto does (OpenID Connect only
// makes them a preference): a request whose classes are all unknown fails;
// a signed-in session that meets none of the requested classes signs in
// again (step-up); and when that sign-in still meets none, the request fails
// with unmet_authentication_requirements instead of issuing a weaker token.
// Without a session the login prompt comes anyway and signInAuthentication
// aims at the first requested class. max_age is the engine's own check.
function acrCheck() {
  const { Check } = interactionPolicy;
  return new Check('acr_unmet', 'requested authentication context could not be obtained',
    'unmet_authentication_requirements', (ctx) => {
      const requested = requestedAcrValues(ctx.oidc.params);
      if (requested === undefined) return Check.NO_NEED_TO_PROMPT;
      if (requested.length === 0) {
        throw new errors.UnmetAuthenticationRequirements('none of the requested acr_values is supported');
      }
      const { session, result } = ctx.oidc;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT;
      const met = requested.some((acr) => acrSatisfies(session.acr, acr));
      if (result?.login && !met) {
        throw new errors.UnmetAuthenticationRequirements('the sign-in did not reach the requested authentication context');
      }
      return met ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    });
}

// The engine's interaction policy with the acr check first in the login
// prompt, so that prompt=none answers unmet_authentication_requirements
// rather than login_required.
function loginPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(acrCheck(), 0);
  return policy;
}

// authenticationContextClaims are the acr, amr and auth_time of the sign-in
// behind a user's access token: copied from the authorization code, refresh
// token or device code the token is minted from (so a refresh keeps the
// original auth_time), never for client credentials or token exchange.
function authenticationContextClaims(ctx, token) {
  if (!(token instanceof ctx.oidc.provider.AccessToken)) return undefined;
  const { entities, params } = ctx.oidc;
  const source = {
    authorization_code: entities.AuthorizationCode,
    refresh_token: entities.RefreshToken,
    [DEVICE_CODE]: entities.DeviceCode,
  }[params?.grant_type];
  if (!source) return undefined;
  const claims = {};
  if (source.acr !== undefined) claims.acr = source.acr;
  if (source.amr !== undefined) claims.amr = source.amr;
  if (source.authTime !== undefined) claims.auth_time = source.authTime;
  return claims;
}

// ------------------------------------------------------ client credentials

// Logto's client-credentials grant adds organization tokens: with
// organization_id (and no resource) a JWT whose aud is
// urn:logto:organization:<id>, for an organization the app belongs to. These
// checks run before the engine's handler, which does the rest:
// defaultResource points it at the organizations resource when
// organization_id comes alone, and resourceServerInfo answers that
// organization's audience and what the app's roles give. Logto has no
// default resource here either, so a request naming neither is refused.
function checkClientCredentialsRequest(ctx) {
  const { params, client } = ctx.oidc;
  // Logto takes an empty organization_id for none.
  if (params.organization_id === '') params.organization_id = undefined;
  const orgId = params.organization_id;
  if (orgId !== undefined) {
    if (!ORGANIZATIONS[orgId] || !M2M_APPS[client.clientId]?.organizations[orgId]) {
      throw forbidden('app has not associated with the organization');
    }
    return;
  }
  const { resource } = params;
  if (resource === undefined || (Array.isArray(resource) && resource.length === 0)) {
    throw new errors.InvalidTarget('both `resource` and `organization_id` are not provided');
  }
}

// ------------------------------------------------------------- device flow

// Neither the engine nor Logto answers slow_down; this provider does, so that
// clients are seen to honour the interval (RFC 8628 section 3.5): a poll less
// than `interval` seconds after the previous one for the same device code is
// refused, and the interval grows by 5 seconds for that code. Runs before the
// engine's device_code handler.
function checkPollInterval(ctx) {
  const value = ctx.oidc.params.device_code;
  if (typeof value !== 'string' || value === '') return; // the engine says invalid_request
  const now = Date.now();
  const seen = devicePolls.get(value);
  if (seen && now - seen.last < seen.interval * 1000) {
    seen.interval += 5;
    seen.last = now;
    throw new errors.SlowDown();
  }
  devicePolls.set(value, { last: now, interval: seen?.interval ?? DEVICE_POLL_INTERVAL });
}

// ---------------------------------------------------------- token exchange

// verifiedAccessTokenClaims returns the claims of a JWT access token this
// provider signed and that has not expired, or undefined. Like Logto, it
// refuses an ID token (same key, same issuer) by its typ header and its lack
// of client_id.
function verifiedAccessTokenClaims(jwt, issuer) {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  let header;
  let payload;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch {
    return undefined;
  }
  if (header?.alg !== 'ES384' || payload === null || typeof payload !== 'object') return undefined;
  const signed = crypto.verify('sha384', Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!signed || payload.iss !== issuer) return undefined;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) {
    throw new errors.InvalidGrant('subject token is expired');
  }
  const typ = String(header.typ ?? '').toLowerCase().replace(/^application\//, '');
  if (typ !== 'at+jwt' || typeof payload.client_id !== 'string') {
    throw new errors.InvalidGrant('subject token is not an access token');
  }
  return payload;
}

// subjectOf validates a token-exchange subject token the way Logto does and
// returns its account, and for a single-use token the function that spends it.
async function subjectOf(ctx, token, type) {
  const singleUse = () => {
    const st = subjectTokens.get(token);
    if (!st) throw new errors.InvalidGrant('subject token not found');
    if (st.expiresAt <= Date.now()) throw new errors.InvalidGrant('subject token is expired');
    if (st.consumed) throw new errors.InvalidGrant('subject token is already consumed');
    return { accountId: st.accountId, spend: () => { st.consumed = true; } };
  };
  switch (type) {
    case PERSONAL_ACCESS_TOKEN_TYPE: {
      const pat = personalAccessTokens.get(token);
      if (!pat) throw new errors.InvalidGrant('subject token not found');
      if (pat.expiresAt !== null && pat.expiresAt <= Date.now()) throw new errors.InvalidGrant('subject token is expired');
      return { accountId: pat.accountId };
    }
    case IMPERSONATION_TOKEN_TYPE:
      return singleUse();
    case ACCESS_TOKEN_TYPE: {
      // Logto's impersonation subject tokens come with this type too.
      if (token.startsWith(SUBJECT_TOKEN_PREFIX)) return singleUse();
      // An access token this provider issued, opaque or JWT: reusable.
      const opaque = await ctx.oidc.provider.AccessToken.find(token);
      if (opaque?.accountId) return { accountId: opaque.accountId };
      const claims = verifiedAccessTokenClaims(token, ctx.oidc.provider.issuer);
      if (!claims) throw new errors.InvalidGrant('invalid subject token');
      if (typeof claims.sub !== 'string' || claims.sub === claims.client_id) {
        throw new errors.InvalidGrant('subject token does not contain a valid `sub` claim');
      }
      return { accountId: claims.sub };
    }
    default:
      throw new errors.InvalidGrant('unsupported subject token type');
  }
}

// actorOf validates the optional actor token: an opaque access token of this
// provider with the openid scope (Logto's rule), whose account goes into the
// new token's act claim.
async function actorOf(ctx) {
  const { actor_token: actorToken, actor_token_type: actorTokenType } = ctx.oidc.params;
  if (!actorToken) return undefined;
  if (actorTokenType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidGrant('unsupported actor token type');
  const at = await ctx.oidc.provider.AccessToken.find(actorToken);
  if (!at?.accountId) throw new errors.InvalidGrant('invalid actor token');
  if (!String(at.scope ?? '').split(' ').includes('openid')) {
    throw new errors.InvalidGrant('actor token must have openid scope');
  }
  return at.accountId;
}

const TOKEN_EXCHANGE_PARAMS = ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'organization_id', 'scope', 'resource'];

// tokenExchange is Logto's token-exchange grant (Logto's own, no engine
// counterpart): a subject token for a user becomes an access token of the
// requesting client for that user, opaque (userinfo), for an API resource,
// or, with organization_id alone, an organization token. No refresh token and
// no ID token. Only clients whose grant_types list it reach it.
async function tokenExchange(ctx) {
  const { params, client, provider } = ctx.oidc;
  const missing = ['subject_token', 'subject_token_type'].filter((name) => !params[name]);
  if (missing.length > 0) {
    throw new errors.InvalidRequest(`missing required parameter(s) (${missing.join(',')})`);
  }
  const subject = await subjectOf(ctx, params.subject_token, params.subject_token_type);
  if (!ACCOUNTS[subject.accountId]) {
    throw new errors.InvalidGrant('subject token invalid (referenced account not found)');
  }
  const orgId = params.organization_id || undefined;
  if (orgId !== undefined && !isMember(subject.accountId, orgId)) {
    throw forbidden('user is not a member of the organization');
  }
  if (Array.isArray(params.resource)) {
    throw new errors.InvalidTarget('only a single resource indicator value must be requested/resolved during Access Token Request');
  }

  const requested = [...ctx.oidc.requestParamScopes].filter(Boolean);
  const grant = new provider.Grant({ accountId: subject.accountId, clientId: client.clientId });
  let resourceServer;
  let scope;
  if (params.resource) {
    resourceServer = new provider.ResourceServer(params.resource, resourceServerInfo(ctx, params.resource, client));
    scope = requested.filter((s) => resourceServer.scopes.has(s)).join(' ');
    grant.addResourceScope(params.resource, scope);
  } else if (orgId !== undefined) {
    const available = ACCOUNTS[subject.accountId].organizations[orgId].scope;
    resourceServer = new provider.ResourceServer(ORGANIZATIONS_RESOURCE,
      jwtResourceServer(organizationAudience(orgId), available));
    scope = requested.filter((s) => resourceServer.scopes.has(s)).join(' ');
    grant.addResourceScope(ORGANIZATIONS_RESOURCE, scope);
  } else {
    scope = requested.filter((s) => SCOPES.includes(s)).join(' ');
    grant.addOIDCScope(scope);
  }
  const actorId = await actorOf(ctx);

  const at = new provider.AccessToken({
    accountId: subject.accountId,
    client,
    grantId: await grant.save(),
    gty: TOKEN_EXCHANGE,
  });
  if (resourceServer) at.resourceServer = resourceServer;
  at.scope = scope;
  // extraTokenClaims reads it back: the engine puts in a token only the
  // claims that hook answers.
  if (actorId) at.extra = { act: { sub: actorId } };
  ctx.oidc.entity('Grant', grant);
  ctx.oidc.entity('AccessToken', at);
  const value = await at.save();
  subject.spend?.();

  // Logto's answer; see README.md for why there is no issued_token_type.
  ctx.body = {
    access_token: value,
    expires_in: at.expiration,
    scope: at.scope,
    token_type: at.tokenType,
  };
}

// --------------------------------------------------------- the engine's grants

// LogtoLikeProvider gives sign-ins their acr and amr (interactionResult), and
// changes how the engine registers three of its own grants, wrapping their
// handlers with checks that run first: refresh_token and
// client_credentials also accept organization_id (Logto's organization
// tokens), and device_code answers slow_down. The engine calls
// registerGrantType for its built-in grants while it is constructed, so an
// override is the one place to wrap its handlers without copying them.
class LogtoLikeProvider extends Provider {
  // Every sign-in through the engine's login form (browser and device flow)
  // ends here: the result gets the acr and amr of what the form proved.
  async interactionResult(req, res, result, options) {
    if (result?.login?.accountId !== undefined && result.login.acr === undefined) {
      const { params } = await this.interactionDetails(req, res);
      Object.assign(result.login, signInAuthentication(result.login.accountId, params));
    }
    return super.interactionResult(req, res, result, options);
  }

  registerGrantType(name, handler, params, dupes) {
    const engineHandler = handler;
    switch (name) {
      case 'refresh_token': {
        const withOrganizations = async (ctx) => {
          await checkOrganizationRequest(ctx);
          return engineHandler(ctx);
        };
        return super.registerGrantType(name, withOrganizations, new Set([...params, 'organization_id']), dupes);
      }
      case 'client_credentials': {
        const withOrganizations = async (ctx) => {
          checkClientCredentialsRequest(ctx);
          return engineHandler(ctx);
        };
        return super.registerGrantType(name, withOrganizations, new Set([...params, 'organization_id']), dupes);
      }
      case DEVICE_CODE: {
        const withPollInterval = async (ctx) => {
          checkPollInterval(ctx);
          try {
            await engineHandler(ctx);
          } catch (err) {
            if (err.error !== 'authorization_pending') devicePolls.delete(ctx.oidc.params.device_code);
            throw err;
          }
          devicePolls.delete(ctx.oidc.params.device_code);
        };
        return super.registerGrantType(name, withPollInterval, params, dupes);
      }
      default:
        return super.registerGrantType(name, handler, params, dupes);
    }
  }
}

// ----------------------------------------------------------- the provider

// Logto's scopes for users.
const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'roles', 'custom_data', 'identities',
  ORGANIZATIONS_SCOPE, ORGANIZATION_ROLES_SCOPE];

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
        // A first-party traditional web app with "allow token exchange" on.
        grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES384',
      },
      {
        // A machine-to-machine app, member of org-e2e, token exchange on.
        client_id: M2M_CLIENT_ID,
        client_secret: M2M_CLIENT_SECRET,
        client_name: 'E2E machine-to-machine app',
        application_type: 'web',
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES384',
      },
      {
        // A machine-to-machine app with token exchange off (Logto's default).
        client_id: NOEXCHANGE_CLIENT_ID,
        client_secret: NOEXCHANGE_CLIENT_SECRET,
        client_name: 'E2E machine-to-machine app without token exchange',
        application_type: 'web',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES384',
      },
      {
        // A native app (public client): the authorization code flow through a
        // loopback redirect URI, and the device flow.
        client_id: NATIVE_CLIENT_ID,
        client_name: 'E2E native app',
        application_type: 'native',
        redirect_uris: [NATIVE_REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        id_token_signed_response_alg: 'ES384',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },

    // Logto's scopes and the claims each one adds.
    scopes: SCOPES,
    claims: {
      // Every ID token says how the user signed in (Logto's do, asked or
      // not); the engine otherwise adds acr and auth_time only when the
      // request asks (acr_values, max_age), and amr never.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
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
    // Logto's authentication context classes (acr_values_supported), which
    // the acr check makes binding; the login form sets acr and amr.
    acrValues: ACR_VALUES,
    interactions: { policy: loginPolicy() },

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
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      DeviceCode: 600,
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
      // RFC 7662, for confidential clients (an API's own app); the engine
      // answers JWT access tokens with unsupported_token_type, so only
      // opaque tokens are introspected.
      introspection: { enabled: true },
      // RFC 9126 (the engine's default, which Logto keeps): the pushed
      // request's request_uri is good for one authorization request.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: REQUIRE_PAR === '1' },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      clientCredentials: { enabled: true },
      // The engine's own user-code, confirmation and success pages (Logto
      // sends the browser to its sign-in experience instead).
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // An organization token is minted for the organizations resource the
        // grant holds, whatever else it holds.
        async useGrantedResource(ctx) {
          return organizationParam(ctx) !== undefined;
        },
        // A client-credentials request with organization_id alone asks for
        // the organization token.
        async defaultResource(ctx, client, oneOf) {
          if (organizationParam(ctx) !== undefined) {
            if (oneOf && oneOf.includes(ORGANIZATIONS_RESOURCE)) return ORGANIZATIONS_RESOURCE;
            if (!oneOf && grantTypeIs(ctx, 'client_credentials')) return ORGANIZATIONS_RESOURCE;
          }
          return oneOf;
        },
        async getResourceServerInfo(ctx, indicator, client) {
          return resourceServerInfo(ctx, indicator, client);
        },
      },
    },

    // A user's access token says how the user signed in (acr, amr,
    // auth_time); an organization-scoped token for an API resource names its
    // organization; a token-exchange token with an actor names it in act.
    async extraTokenClaims(ctx, token) {
      const claims = { ...authenticationContextClaims(ctx, token) };
      const orgId = organizationParam(ctx);
      if (orgId !== undefined && token.resourceServer && token.resourceServer.audience !== organizationAudience(orgId)) {
        claims.organization_id = orgId;
      }
      if (token.gty === TOKEN_EXCHANGE && token.extra?.act) {
        claims.act = token.extra.act;
      }
      return Object.keys(claims).length > 0 ? claims : undefined;
    },
    formats: {
      customizers: {
        // Logto re-reads organization permissions on every refresh: the
        // organization token's scope is what the user's roles give now.
        // (Client credentials and token exchange set theirs in the grant.)
        async jwt(ctx, token, jwt) {
          const orgId = organizationParam(ctx);
          if (orgId !== undefined && grantTypeIs(ctx, 'refresh_token') && jwt.payload.aud === organizationAudience(orgId)) {
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

  // Logto's own grant, beside the engine's.
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, TOKEN_EXCHANGE_PARAMS, ['resource']);

  // The device authorization answer carries the poll interval when one was
  // set for the tests.
  provider.use(async (ctx, next) => {
    await next();
    if (DEVICE_POLL_INTERVAL_SET && ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body.interval = DEVICE_POLL_INTERVAL;
    }
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

// Test-only: counters and the newest refresh token of an account (GET), and
// subject tokens for token exchange (POST), which Logto mints through its
// Management API.
function admin(req, res, url) {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'POST') {
    // The server listens on loopback only; refusing requests with an Origin
    // header also keeps a web page open in a browser on this machine from
    // minting tokens here (browsers send Origin with every cross-origin POST).
    if (req.headers.origin !== undefined) return send(403, { error: 'browser requests are refused' });
    readForm(req).then((form) => mint(url.pathname, form, send), (err) => send(400, { error: String(err.message) }));
    return;
  }
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

// mint answers the POST routes: a personal access token (Logto's pat_...,
// reusable, optionally expiring) or an impersonation subject token (Logto's
// sub_..., single-use, 10 minutes) for an account.
function mint(path, form, send) {
  const account = form.get('account') ?? 'e2e-user';
  if (path !== '/__test/pat' && path !== '/__test/subject-token') return send(404, { error: 'not_found' });
  if (!ACCOUNTS[account]) return send(404, { error: `no account ${account}` });
  const secret = crypto.randomBytes(24).toString('base64url');
  if (path === '/__test/subject-token') {
    const token = `${SUBJECT_TOKEN_PREFIX}${secret}`;
    subjectTokens.set(token, { accountId: account, expiresAt: Date.now() + SUBJECT_TOKEN_TTL * 1000, consumed: false });
    return send(201, { subject_token: token, expires_in: SUBJECT_TOKEN_TTL });
  }
  let expiresAt = null;
  if (form.has('expires_in')) {
    const seconds = Number(form.get('expires_in'));
    if (!Number.isInteger(seconds)) return send(400, { error: 'expires_in must be an integer (seconds; 0 or less: already expired)' });
    expiresAt = Date.now() + seconds * 1000;
  }
  const token = `pat_${secret}`;
  personalAccessTokens.set(token, { accountId: account, expiresAt });
  return send(201, { personal_access_token: token, ...(expiresAt === null ? {} : { expires_at: Math.floor(expiresAt / 1000) }) });
}

// readForm reads an application/x-www-form-urlencoded body (at most 16 KiB).
function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 16 << 10) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
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

// An identity provider this project did not write: npm's `oauth2-mock-server`, configured only
// through its public hooks, for the browser tests (tests/e2e/test_interop.py).
//
//   node tests/e2e/mock_idp.mjs        (environment below; prints one JSON line when listening)
//
// MOCK_IDP_MODULES  folder holding node_modules/oauth2-mock-server (default .tools/npm)
// MOCK_IDP_HOST     interface to bind (default 127.0.0.1; the issuer is then http://localhost:PORT)
// MOCK_IDP_PORT     port (default 0: any free one)
// MOCK_IDP_USER     JSON {sub, email, email_verified, name}: who signs in (auto-approved)
//
// The library auto-approves every authorization request, echoes `nonce` into the id_token and
// checks a PKCE verifier when one is sent. Made stricter here, through hooks only: the
// authorization request must carry `nonce` and an S256 `code_challenge`, and the code must be
// redeemed with a `code_verifier` (so a completed sign-in proves the client did PKCE S256).
// The redirect carries `iss` (RFC 9207). The library itself does not check client credentials
// or the token request's redirect_uri.
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const modules = resolve(process.env.MOCK_IDP_MODULES || ".tools/npm");
const entry = createRequire(join(modules, "package.json")).resolve("oauth2-mock-server");
const { OAuth2Server } = await import(pathToFileURL(entry).href);

const user = JSON.parse(
  process.env.MOCK_IDP_USER ||
    '{"sub":"mock-user","email":"user@mock.example","email_verified":true,"name":"Mock User"}',
);
const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
const service = server.service;
const log = (event, data) => console.log(JSON.stringify({ event, ...data }));

service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const { nonce, code_challenge: challenge, code_challenge_method: method } = req.query;
  const refuse = (description) => {
    for (const name of ["code", "iss"]) redirect.url.searchParams.delete(name);
    redirect.url.searchParams.set("error", "invalid_request");
    redirect.url.searchParams.set("error_description", description);
  };
  let refused = null;
  if (!nonce) refused = "nonce is required";
  else if (!challenge || method !== "S256") refused = "PKCE with S256 is required";
  if (refused) refuse(refused);
  else redirect.url.searchParams.set("iss", server.issuer.url);
  log("authorize", { nonce: Boolean(nonce), method: method ?? null, refused });
});

service.on("beforeTokenSigning", (token, req) => {
  // Both the access token and the id_token: who the user is.
  Object.assign(token.payload, user);
});

service.on("beforeResponse", (response, req) => {
  const body = req.body || {};
  if (body.grant_type === "authorization_code" && !body.code_verifier) {
    response.statusCode = 400;
    response.body = { error: "invalid_request", error_description: "code_verifier is required" };
  }
  log("token", { grant_type: body.grant_type, verifier: Boolean(body.code_verifier) });
});

service.on("beforeUserinfo", (response, req) => {
  response.body = { ...user };
});

await server.start(Number(process.env.MOCK_IDP_PORT || 0), process.env.MOCK_IDP_HOST || "127.0.0.1");
log("listening", { issuer: server.issuer.url });

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// The stand-in OpenID provider for the log-in tests (ID-porten and Feide): npm oidc-provider on
// 127.0.0.1 and a free port. Usage: node oidc_provider.mjs CLIENTS.json KEYS.json
// Prints "PORT <n>" once it listens. Its development log-in form accepts any user name; the
// account's claims are made from it ("kari" -> kari@example.no, e-mail verified; a name
// starting with "unverified" has an unverified address). It sends a `pid` claim, as
// ID-porten does, which the app must never store. It calls nowhere else.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const clients = JSON.parse(readFileSync(process.argv[2], "utf8"));
const jwks = JSON.parse(readFileSync(process.argv[3], "utf8"));
const server = createServer();

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients,
    jwks,
    pkce: { required: () => true },
    claims: { openid: ["sub", "pid"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, pid: "01017012345", name: `Test ${id}`,
                   email: `${id}@example.no`, email_verified: !id.startsWith("unverified") };
        },
      };
    },
  });
  provider.on("server_error", (ctx, error) => console.error(error));
  server.on("request", provider.callback());
  console.log(`PORT ${port}`);
});

import NextAuth from "next-auth";
import Credentials from "next-auth/providers/credentials";

// The seed architecture with Auth.js v5: the Credentials provider signs in at the backend,
// and the jwt callback keeps the backend's access token in Auth.js's encrypted session
// cookie (authjs.session-token). edgegate opens that cookie and forwards the token as
// `Authorization: Bearer`; the browser never sees it.
declare module "next-auth" {
  interface User {
    accessToken?: string;
    padding?: string;
  }
}
declare module "@auth/core/jwt" {
  interface JWT {
    accessToken?: string;
    padding?: string;
  }
}

export const { handlers, auth, signIn, signOut } = NextAuth({
  secret: process.env.AUTH_SECRET,
  trustHost: true,
  session: { strategy: "jwt" },
  providers: [
    Credentials({
      credentials: { name: {}, password: {} },
      async authorize(credentials) {
        // As examples/nextjs/app/api/login does: POST the credentials to the backend.
        const backend = await fetch(`${process.env.UPSTREAM_URL}/auth/login`, {
          method: "POST",
          body: new URLSearchParams({ name: String(credentials?.name ?? ""), password: String(credentials?.password ?? "") }),
        });
        if (!backend.ok) return null;
        const tokens = await backend.json();
        const name = String(credentials?.name ?? "");
        // For the test only: password "chunky" makes the session too big for one cookie, so
        // Auth.js writes it in chunks (authjs.session-token.0, .1).
        const padding = credentials?.password === "chunky" ? "p".repeat(3000) : undefined;
        return { id: name, name, accessToken: tokens.access_token, padding };
      },
    }),
  ],
  callbacks: {
    jwt({ token, user }) {
      if (user) {
        token.accessToken = user.accessToken;
        if (user.padding) token.padding = user.padding;
      }
      return token;
    },
  },
});

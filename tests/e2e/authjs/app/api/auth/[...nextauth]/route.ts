import { handlers } from "../../../../auth";

// Auth.js's own endpoints, built-in sign-in page included (/api/auth/signin); the gate
// lets /api/auth/* through as public before its /api/* rule sends the rest to the backend.
export const { GET, POST } = handlers;

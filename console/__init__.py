"""The console kit: what every page for people shares (sign-in with the mobile ID through our
login service, sessions with an idle timeout, roles, CSRF, security headers, templates and the
static assets). Parties mount it on their apps; it imports no party and not `mobileid`."""

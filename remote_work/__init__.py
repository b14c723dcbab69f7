"""The remote-work system (원격근무): a business system on the mobile ID. Employees file plans,
department heads approve them, and a work session runs from sign-in to sign-out (or idle timeout,
or back-channel logout when the credential stops being valid). It signs people in through our
login service as an OpenID Connect client like any other; it imports `vc`, `schemas` and
`console` only."""

"""The HR side: employees, applications, approvals, OpenID4VCI issuance, credential lifecycle."""

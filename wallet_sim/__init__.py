"""A phone in software: device key, PIN-locked store, OpenID4VCI and OpenID4VP holder."""

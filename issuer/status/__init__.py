"""Token Status Lists: slots for new credentials, packing, signing and publishing the lists."""

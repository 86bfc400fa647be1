package redisstore

// DecodeValues reads a stored session, for tests that look into Redis.
var DecodeValues = decodeValues

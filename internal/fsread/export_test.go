package fsread

var ReadAll = readAll

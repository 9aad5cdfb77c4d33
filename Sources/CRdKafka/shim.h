// The librdkafka C API, exposed to Swift through one module (only RelayKafka imports it).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

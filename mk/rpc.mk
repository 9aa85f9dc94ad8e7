# rpc module test tools: the test service (tests/proto/rpctest.proto) is compiled
# only into the test server and client, never into libcz.
RPCTEST_GEN := $(O)/gen/rpctest/rpctest.pb-c.c
RPCTEST_OBJ := $(O)/obj/gen/rpctest/rpctest.pb-c.o
RPC_TOOLS := $(O)/tests/tools/cz-rpc-testserver $(O)/tests/tools/cz-rpc-testclient

# A pattern rule, so that one protoc-c run makes both files.
$(O)/gen/rpctest/%.pb-c.c $(O)/gen/rpctest/%.pb-c.h: tests/proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=tests/proto --c_out=$(O)/gen/rpctest $<

.SECONDARY: $(O)/gen/rpctest/rpctest.pb-c.c $(O)/gen/rpctest/rpctest.pb-c.h

$(O)/obj/tests/tools/cz-rpc-testserver.o $(O)/obj/tests/tools/cz-rpc-testclient.o: $(O)/gen/rpctest/rpctest.pb-c.h

$(RPC_TOOLS): $(O)/tests/tools/%: $(O)/obj/tests/tools/%.o $(RPCTEST_OBJ) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(RPCTEST_OBJ) $(LIBCZ) $(LDLIBS)

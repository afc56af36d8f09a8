# pgward - the two commands of the README, and a few more.
#   make demo    install what is needed, build, and run the main job on embedded defaults
#   make check   install what is needed, build, and run the whole test suite (+ ASan/UBSan)
#   make bench   encrypt/decrypt vs the age CLI, backup/restore vs pg_dump pipelines, then
#                physical backup, PITR restore and RPO vs pg_basebackup and pgBackRest
#   make fuzz    run the libFuzzer targets for a bounded time
.PHONY: all deps build check demo bench fuzz format format-check clean

all: build

deps:
	./tools/deps.sh

build: deps
	@[ -f build/build.ninja ] || meson setup build
	ninja -C build

check: deps
	./tools/check.sh

demo: build
	./tools/demo.sh

bench: build
	./bench/bench.sh && ./bench/s3_bench.sh && ./bench/backup_bench.sh && ./bench/pitr_bench.sh && ./bench/serve_bench.sh

fuzz: deps
	./fuzz/run.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'fuzz/*.c')

format-check:
	clang-format --dry-run --Werror $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'fuzz/*.c')

clean:
	rm -rf build build-asan build-fuzz

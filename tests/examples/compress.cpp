// The compression module (examples/compress): round trips on the Canterbury corpus and edge sizes,
// the standard zstd and lz4 tools decoding parex output, index-less standard files, range reads, every
// kind of bad input, and the parex-compress command line's file handling.
#include <compress/engine.hpp>

#include <xxhash.h>

#include "files.hpp"
#include "parex_catch.hpp"
#include "temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace pc = compress;

namespace {

using parex::test::quote;
using parex::test::read_file;
using parex::test::run;
using parex::test::write_file;
const std::string cli = quote(PAREX_COMPRESS_CLI);

std::string canterbury() {  // the whole corpus, concatenated: text, source, binary
    std::string all;
    for (const auto& e : fs::directory_iterator(fs::path(PAREX_TEST_DATA) / "canterbury")) all += read_file(e.path());
    return all;
}

pc::options with(pc::codec kind, std::size_t chunk, std::size_t threads = 2, std::size_t single_shot_below = 0) {
    pc::options o;
    o.kind = kind;
    o.chunk_size = chunk;
    o.threads = threads;
    o.single_shot_below = single_shot_below;
    return o;
}

std::string round_trip(const std::string& data, const pc::options& o) {
    pc::compressor c(o);
    const auto packed = c.compress(data);
    pc::decompressor d(o);
    return d.decompress(pc::archive(packed));
}

}  // namespace

TEST_CASE("every Canterbury file round-trips with both codecs", "[compress]") {
    const auto dir = fs::path(PAREX_TEST_DATA) / "canterbury";
    REQUIRE(fs::exists(dir));
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto data = read_file(e.path());
        for (auto kind : {pc::codec::zstd, pc::codec::lz4}) {
            INFO(e.path().filename().string() << " " << pc::name_of(kind));
            CHECK(round_trip(data, with(kind, 64 << 10)) == data);
        }
        ++files;
    }
    CHECK(files == 11);
}

TEST_CASE("edge sizes round-trip: empty, 1 byte, one chunk, chunk +- 1, many chunks", "[compress]") {
    constexpr std::size_t chunk = 4096;
    std::mt19937 rng(7);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, chunk - 1, chunk, chunk + 1, 3 * chunk + 1}) {
        std::string data(n, '\0');
        for (auto& ch : data) ch = static_cast<char>("abcab\n"[rng() % 6]);
        for (auto kind : {pc::codec::zstd, pc::codec::lz4})
            for (std::size_t single_shot : {std::size_t{0}, std::size_t{1} << 30}) {  // pipeline, then single-shot
                INFO("n=" << n << " codec=" << pc::name_of(kind) << " single_shot_below=" << single_shot);
                const auto o = with(kind, chunk, 2, single_shot);
                pc::compressor c(o);
                const auto packed = c.compress(data);
                const pc::archive file(packed);
                CHECK(file.indexed());
                CHECK(file.frames().size() == std::max<std::size_t>(1, (n + chunk - 1) / chunk));
                CHECK(file.decompressed_size() == n);
                CHECK(pc::decompressor(o).decompress(file) == data);
            }
    }
}

TEST_CASE("the result does not depend on the thread count or the path taken", "[compress]") {
    const auto data = canterbury();
    const auto one = pc::compressor(with(pc::codec::zstd, 256 << 10, 1)).compress(data);
    CHECK(pc::compressor(with(pc::codec::zstd, 256 << 10, 2)).compress(data) == one);
    CHECK(pc::compressor(with(pc::codec::zstd, 256 << 10, 2, std::size_t{1} << 30)).compress(data) == one);
}

TEST_CASE("the zstd and lz4 command-line tools decode parex output byte for byte", "[compress]") {
    parex::test::temp_dir dir;
    const auto data = canterbury();
    write_file(dir.path() / "input", data);
    for (auto kind : {pc::codec::zstd, pc::codec::lz4}) {
        const auto packed = dir.path() / (kind == pc::codec::zstd ? "p.zst" : "p.lz4");
        write_file(packed, pc::compressor(with(kind, 300000)).compress(data));
        const auto decoded = dir.path() / "decoded";
        const auto tool = kind == pc::codec::zstd ? "zstd -d -q -f " + quote(packed) + " -o " + quote(decoded)
                                                  : "lz4 -d -q -f " + quote(packed) + " " + quote(decoded);
        INFO(tool);
        REQUIRE(run(tool) == 0);
        CHECK(read_file(decoded) == data);
    }
}

TEST_CASE("standard files without a seek table decode: one frame, several, unknown sizes, lz4", "[compress]") {
    parex::test::temp_dir dir;
    const auto data = canterbury();
    const auto in = dir.path() / "in";
    write_file(in, data);
    const auto half = dir.path() / "half";
    write_file(half, data.substr(0, data.size() / 2));
    REQUIRE(run("zstd -q -f " + quote(in) + " -o " + quote(dir.path() / "one.zst")) == 0);
    REQUIRE(run("zstd -q -c < " + quote(in) + " > " + quote(dir.path() / "streamed.zst")) == 0);  // no content size
    REQUIRE(run("zstd -q -c " + quote(half) + " > " + quote(dir.path() / "two.zst") + " && zstd -q -c " + quote(in) +
                " >> " + quote(dir.path() / "two.zst")) == 0);
    REQUIRE(run("lz4 -q -f " + quote(in) + " " + quote(dir.path() / "one.lz4")) == 0);
    pc::decompressor d(with(pc::codec::zstd, 1 << 20));
    for (const char* name : {"one.zst", "streamed.zst", "one.lz4"}) {
        INFO(name);
        const auto bytes = read_file(dir.path() / name);
        const pc::archive file(bytes);
        CHECK_FALSE(file.indexed());
        CHECK(d.decompress(file) == data);
    }
    const auto bytes = read_file(dir.path() / "two.zst");
    const pc::archive two(bytes);
    CHECK(two.frames().size() == 2);
    CHECK(d.decompress(two) == data.substr(0, data.size() / 2) + data);
}

TEST_CASE("range reads equal the slice and decode only what they touch", "[compress]") {
    const auto data = canterbury();
    const auto o = with(pc::codec::zstd, 100000);
    const auto packed = pc::compressor(o).compress(data);
    const pc::archive file(packed);
    pc::decompressor d(o);
    std::mt19937_64 rng(11);
    for (int i = 0; i < 200; ++i) {
        const auto start = rng() % data.size();
        const auto length = rng() % std::min<std::size_t>(data.size() - start, 350000);
        INFO("start=" << start << " length=" << length);
        REQUIRE(d.read_range(file, start, length) == data.substr(start, length));
    }
    CHECK(d.read_range(file, data.size(), 0).empty());
    CHECK_THROWS_AS(d.read_range(file, data.size() - 1, 2), std::out_of_range);
}

TEST_CASE("bad input is a format_error naming the chunk and the byte offset", "[compress]") {
    std::string data(50000, '\0');
    std::mt19937 rng(3);
    for (auto& ch : data) ch = static_cast<char>("the quick brown fox "[rng() % 20]);
    for (auto kind : {pc::codec::zstd, pc::codec::lz4}) {
        const auto o = with(kind, 10000);
        const auto packed = pc::compressor(o).compress(data);
        const pc::archive good(packed);
        REQUIRE(good.frames().size() == 5);
        pc::decompressor d(o);

        SECTION(std::string("a flipped byte in each chunk: ") + pc::name_of(kind)) {
            for (std::size_t chunk = 0; chunk < good.frames().size(); ++chunk) {
                const auto& f = good.frames()[chunk];
                for (std::size_t at : {f.offset + 2, f.offset + f.compressed / 2, f.offset + f.compressed - 1}) {
                    auto broken = packed;
                    broken[at] = static_cast<char>(broken[at] ^ 0x20);
                    INFO("chunk=" << chunk << " flipped byte " << at);
                    try {
                        const pc::archive file(broken);
                        (void)d.decompress(file);
                        FAIL("damage not detected");
                    } catch (const pc::format_error& e) {
                        CHECK(e.chunk() == chunk);
                        CHECK(e.offset() == f.offset);
                    }
                }
            }
        }
        SECTION(std::string("a truncated file: ") + pc::name_of(kind)) {
            for (std::size_t keep : {std::size_t{3}, packed.size() / 3, packed.size() - 1}) {
                INFO("kept " << keep << " bytes");
                CHECK_THROWS_AS(d.decompress(pc::archive(std::string_view(packed).substr(0, keep))), pc::format_error);
            }
        }
        SECTION(std::string("a wrong seek table: ") + pc::name_of(kind)) {
            auto wrong = packed;  // entry 0's compressed size, the first field after the 8-byte frame header
            const auto table = packed.size() - (8 + 5 * 12 + 9);
            wrong[table + 8] = static_cast<char>(wrong[table + 8] + 1);
            CHECK_THROWS_AS(pc::archive(wrong), pc::format_error);
            auto size_lie = packed;  // entry 2's decompressed size
            size_lie[table + 8 + 2 * 12 + 4] = static_cast<char>(size_lie[table + 8 + 2 * 12 + 4] + 1);
            try {
                (void)d.decompress(pc::archive(size_lie));
                FAIL("wrong decompressed size not detected");
            } catch (const pc::format_error& e) {
                CHECK(e.chunk() == 2);
            }
            auto checksum_lie = packed;  // entry 4's checksum
            checksum_lie[table + 8 + 4 * 12 + 8] = static_cast<char>(checksum_lie[table + 8 + 4 * 12 + 8] ^ 1);
            try {
                (void)d.decompress(pc::archive(checksum_lie));
                FAIL("wrong checksum not detected");
            } catch (const pc::format_error& e) {
                CHECK(e.chunk() == 4);
            }
        }
    }
    SECTION("not zstd or lz4") {
        try {
            (void)pc::archive("this is plain text, not a compressed file");
            FAIL("accepted");
        } catch (const pc::format_error& e) {
            CHECK(e.offset() == 0);
            CHECK(std::string(e.what()).find("not a zstd or lz4") != std::string::npos);
        }
        CHECK_THROWS_AS(pc::archive("ab"), pc::format_error);
    }
}

namespace {

/// A zstd frame of 16 bytes whose header claims `content` decoded bytes: magic, a descriptor with an
/// 8-byte content size and a single segment, the size, one empty raw block marked last.
std::string zstd_frame_claiming(std::uint64_t content) {
    std::string f = "\x28\xB5\x2F\xFD\xE0";
    for (int i = 0; i < 8; ++i) f += static_cast<char>((content >> (8 * i)) & 0xFF);
    return f + std::string("\x01\x00\x00", 3);
}

/// An lz4 frame whose header claims `content` decoded bytes, with an empty block list: magic, FLG
/// (version 1, independent blocks, content size), BD, the size, a header checksum, the EndMark.
std::string lz4_frame_claiming(std::uint64_t content) {
    std::string f = "\x04\x22\x4D\x18\x68\x40";
    for (int i = 0; i < 8; ++i) f += static_cast<char>((content >> (8 * i)) & 0xFF);
    const auto checksum = static_cast<char>((XXH32(f.data() + 4, f.size() - 4, 0) >> 8) & 0xFF);
    return f + checksum + std::string(4, '\0');
}

}  // namespace

TEST_CASE("declared sizes are checked against the input before anything is allocated", "[compress]") {
    const auto refused = [](const std::string& file, const std::string& message) {
        try {
            (void)pc::archive(file);
            FAIL("accepted: " << message);
        } catch (const pc::format_error& e) {
            INFO(e.what());
            CHECK_THAT(e.what(), Catch::Contains(message));
            CHECK(e.chunk() == 0);
            CHECK(e.offset() == 0);
        }
    };
    refused(zstd_frame_claiming(std::uint64_t{1} << 40),
            "zstd frame declares 1099511627776 decoded bytes, more than its 16 bytes can hold");
    refused(zstd_frame_claiming(std::uint64_t{3} << 30), "declares 3221225472 decoded bytes");
    refused(lz4_frame_claiming(std::uint64_t{1} << 40), "lz4 frame declares 1099511627776 decoded bytes");
    CHECK(pc::max_decoded_size(pc::codec::zstd, 16) == 16 * 32768 + 65536);
    CHECK(pc::max_decoded_size(pc::codec::zstd, SIZE_MAX / 2) == SIZE_MAX);

    // a seek table that disagrees with a frame header
    const std::string data(100000, 'x');
    const auto o = with(pc::codec::zstd, 40000);
    auto packed = pc::compressor(o).compress(data);
    const auto table = pc::read_seek_table(packed)->table_offset;
    packed[table + 8 + 12 + 4] = static_cast<char>(packed[table + 8 + 12 + 4] + 1);  // entry 1's decoded size
    try {
        (void)pc::archive(packed);
        FAIL("seek table disagreeing with the frame header accepted");
    } catch (const pc::format_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("seek table says 40001 decoded bytes, the frame header 40000"));
        CHECK(e.chunk() == 1);
    }
}

TEST_CASE("frames beyond max_frame_buffer or of unknown size are decoded as a stream, in bounded pieces",
          "[compress]") {
    const auto data = canterbury();
    parex::test::temp_dir dir;
    const auto in = dir.path() / "in";
    write_file(in, data);
    REQUIRE(run("zstd -q -c < " + quote(in) + " > " + quote(dir.path() / "streamed.zst")) == 0);  // no content size
    REQUIRE(run("zstd -q -f " + quote(in) + " -o " + quote(dir.path() / "one.zst")) == 0);  // one frame, size known
    REQUIRE(run("lz4 -q -f " + quote(in) + " " + quote(dir.path() / "one.lz4")) == 0);
    for (const char* name : {"streamed.zst", "one.zst", "one.lz4"}) {
        INFO(name);
        const auto packed = read_file(dir.path() / name);
        const pc::archive file(packed);
        auto o = with(file.kind(), 0);
        o.max_frame_buffer = 4096;  // every frame here is larger: all streamed
        pc::decompressor d(o);
        std::string out;
        std::size_t largest = 0, pieces = 0;
        CHECK(d.decompress(file, [&](std::string_view piece) {
            out.append(piece);
            largest = std::max(largest, piece.size());
            ++pieces;
        }) == data.size());
        CHECK(out == data);
        CHECK(largest <= pc::stream_piece_size);
        CHECK(pieces >= data.size() / pc::stream_piece_size);
        if (file.decompressed_size()) CHECK(d.read_range(file, 1234567, 100000) == data.substr(1234567, 100000));
    }
    // parex's own output with small frames: each frame whole, or each streamed, the same bytes
    auto o = with(pc::codec::zstd, 300000);
    const auto packed = pc::compressor(o).compress(data);
    for (const std::size_t buffer : {std::size_t{256} << 20, std::size_t{1000}}) {
        o.max_frame_buffer = buffer;
        std::string out;
        pc::decompressor(o).decompress(pc::archive(packed), [&](std::string_view piece) { out.append(piece); });
        CHECK(out == data);
    }
}

TEST_CASE("an lz4 frame that failed halfway does not spoil the next one on the same worker", "[compress]") {
    parex::test::temp_dir dir;
    const auto in = dir.path() / "in";
    write_file(in, canterbury().substr(0, 300000));
    REQUIRE(run("lz4 -q -f --content-size " + quote(in) + " " + quote(dir.path() / "sized.lz4")) == 0);
    REQUIRE(run("lz4 -q -f " + quote(in) + " " + quote(dir.path() / "unsized.lz4")) == 0);
    const auto sized = read_file(dir.path() / "sized.lz4"), unsized = read_file(dir.path() / "unsized.lz4");
    auto o = with(pc::codec::lz4, 0, 1);  // one worker: one codec context for every frame
    o.max_frame_buffer = 4096;            // frames decoded as streams: a sink's exception stops one halfway
    pc::decompressor d(o);
    SECTION("after a damaged frame") {
        auto broken = sized;
        broken[broken.size() / 2] = static_cast<char>(broken[broken.size() / 2] ^ 0x40);
        CHECK_THROWS_AS(d.decompress(pc::archive(broken)), pc::format_error);
    }
    SECTION("after a sink that gave up halfway") {
        CHECK_THROWS_AS(d.decompress(pc::archive(sized), [](std::string_view) { throw std::length_error("enough"); }),
                        std::length_error);
    }
    CHECK(d.decompress(pc::archive(unsized)) == read_file(in));
}

TEST_CASE(
    "parex-compress: numbers out of range, bad sizes and declared sizes are refused with the option or frame named",
    "[compress][cli]") {
    parex::test::temp_dir dir;
    const auto in = dir.path() / "in.bin";
    write_file(in, std::string(300000, 'a'));
    const auto err = dir.path() / "err.txt";
    const auto exits = [&](const std::string& args, int status, const std::string& message) {
        INFO(args);
        CHECK(run(cli + " " + args + " 2> " + quote(err)) == status);
        CHECK_THAT(read_file(err), Catch::Contains(message));
    };
    exits("-T -1 " + quote(in) + " -c > /dev/null", 2, "--threads: Value -1 not in range 0 to 1024");
    exits("-T 100000 " + quote(in) + " -c > /dev/null", 2, "--threads: Value 100000 not in range 0 to 1024");
    exits("--level 99 " + quote(in) + " -c > /dev/null", 2, "--level: Value 99 not in range 0 to 19");
    exits("--codec lz4 -13 " + quote(in) + " -c > /dev/null", 2, "--level 13: lz4 accepts 0 to 12");
    exits("--chunk-size 2G " + quote(in) + " -c > /dev/null", 2, "--chunk-size 2G: accepts 1 to 1G");
    exits("-d --range 5 " + quote(in) + " -c > /dev/null", 2, "--range 5: expected START:LEN");
    exits(quote(dir.path() / "missing") + " -c > /dev/null", 3, "missing: cannot open: No such file or directory");
    CHECK(run(cli + " -T 2 -3 " + quote(in) + " -c > /dev/null") == 0);  // "-3" after a value is still a level

    const auto claim = dir.path() / "claim.zst";
    write_file(claim, zstd_frame_claiming(std::uint64_t{1} << 40));
    for (const char* mode : {"-d", "-t", "-d --range 0:10", "-l"}) {
        exits(std::string(mode) + " " + quote(claim) + " -o " + quote(dir.path() / "claim") + " > /dev/null", 1,
              "claim.zst: zstd frame declares 1099511627776 decoded bytes, more than its 16 bytes can hold (chunk 0) "
              "at byte offset 0");
        CHECK_FALSE(fs::exists(dir.path() / "claim"));
    }
}

TEST_CASE("parex-compress: SIGINT or SIGTERM while compressing leaves no temporary file and the input untouched",
          "[compress][cli]") {
    parex::test::temp_dir dir;
    const auto in = dir.path() / "in.bin";
    write_file(in, std::string(100000, 'a'));
    for (const auto& [signal, status] : {std::pair{"INT", 128 + 2}, std::pair{"TERM", 128 + 15}}) {
        INFO("SIG" << signal);
        // the input never ends (a pipe held open), so the program is surely at work when signalled
        const auto job = "(cat " + quote(in) + "; sleep 60) | " + cli + " - -o " + quote(dir.path() / "out.zst");
        CHECK(parex::test::interrupt_when_file_appears(dir.path() / "job.sh", job,
                                                       quote(dir.path()) + "/.out.zst.parex-*", signal) == status);
        CHECK(parex::test::file_names(dir.path()) == std::vector<std::string>{"in.bin", "job.sh"});
        CHECK(read_file(in) == std::string(100000, 'a'));
    }
}

TEST_CASE("parex-compress: outputs appear only whole, never over a file without -f, the input untouched",
          "[compress][cli]") {
    parex::test::temp_dir dir;
    const auto data = canterbury();
    const auto in = dir.path() / "corpus.bin";
    write_file(in, data);
    const auto listing = [&] { return parex::test::file_names(dir.path()); };

    REQUIRE(run(cli + " -T 2 --chunk-size 256K " + quote(in)) == 0);
    const auto zst = dir.path() / "corpus.bin.zst";
    CHECK(read_file(in) == data);
    CHECK(listing() == std::vector<std::string>{"corpus.bin", "corpus.bin.zst"});  // no temporary file left
    REQUIRE(run("zstd -d -q -c " + quote(zst) + " | cmp -s - " + quote(in)) == 0);

    // an existing output is kept without -f, replaced with -f
    write_file(dir.path() / "corpus.bin.zst.keep", "");
    const auto before = read_file(zst);
    CHECK(run(cli + " -19 " + quote(in) + " 2>/dev/null") == 2);  // usage: -f was needed
    CHECK(read_file(zst) == before);
    CHECK(run(cli + " -f -1 " + quote(in)) == 0);
    CHECK(read_file(zst) != before);

    // decompression to a new name, to stdout, from stdin, with a range; -t and -l
    CHECK(run(cli + " -d " + quote(zst) + " -o " + quote(dir.path() / "back")) == 0);
    CHECK(read_file(dir.path() / "back") == data);
    CHECK(run(cli + " -d -c " + quote(zst) + " | cmp -s - " + quote(in)) == 0);
    CHECK(run("cat " + quote(zst) + " | " + cli + " -d - -c | cmp -s - " + quote(in)) == 0);
    CHECK(run("cat " + quote(in) + " | " + cli + " --codec lz4 - -c | lz4 -d -q -c | cmp -s - " + quote(in)) == 0);
    CHECK(run(cli + " -d --range 1000:5000 -c " + quote(zst) + " > " + quote(dir.path() / "range")) == 0);
    CHECK(read_file(dir.path() / "range") == data.substr(1000, 5000));
    CHECK(run(cli + " -t " + quote(zst) + " 2>/dev/null") == 0);
    CHECK(run(cli + " -l " + quote(zst) + " > /dev/null") == 0);
    CHECK(run(cli + " -d -f " + quote(zst) + " -o " + quote(zst) + " 2>/dev/null") == 2);  // never over its input

    // a damaged file: non-zero exit, no output, no temporary file
    auto broken = read_file(zst);
    broken[broken.size() / 2] = static_cast<char>(broken[broken.size() / 2] ^ 0x55);
    write_file(dir.path() / "broken.zst", broken);
    const auto files_before = listing();
    CHECK(run(cli + " -d " + quote(dir.path() / "broken.zst") + " 2>/dev/null") == 1);
    CHECK(run(cli + " -t " + quote(dir.path() / "broken.zst") + " 2>/dev/null") == 1);
    CHECK(listing() == files_before);
    CHECK(run(cli + " -d " + quote(in) + " -o " + quote(dir.path() / "x") + " 2>/dev/null") == 1);  // not compressed
    CHECK_FALSE(fs::exists(dir.path() / "x"));
    CHECK(run(cli + " --bogus " + quote(in) + " 2>/dev/null") == 2);
    CHECK(run(cli + " -f --chunk-size 5Q " + quote(in) + " 2>/dev/null") == 2);  // not a size
    CHECK(run(cli + " -f --chunk-size 64KiB " + quote(in) + " -o " + quote(dir.path() / "k.zst")) == 0);
    CHECK(pc::archive(read_file(dir.path() / "k.zst")).frames().front().decompressed == std::size_t{64} << 10);
    CHECK(read_file(in) == data);
}

#if defined(PAREX_MPIEXEC)
TEST_CASE("parex-compress under mpirun writes the one-process archive, byte for byte, and nothing else",
          "[compress][cli]") {
    parex::test::temp_dir dir;
    const auto data = canterbury();
    const auto in = dir.path() / "corpus.bin";
    write_file(in, data);
    const std::string mpirun = std::string(PAREX_MPIEXEC) + " --oversubscribe --bind-to none --allow-run-as-root -np ";
    REQUIRE(run(cli + " -q --chunk-size 64K " + quote(in) + " -o " + quote(dir.path() / "one.zst")) == 0);
    for (const int np : {2, 3}) {
        INFO(np << " ranks");
        const auto out = dir.path() / ("ranks-" + std::to_string(np) + ".zst");
        REQUIRE(run(mpirun + std::to_string(np) + " " + cli + " -T 1 --chunk-size 64K " + quote(in) + " -o " +
                    quote(out)) == 0);
        CHECK(read_file(out) == read_file(dir.path() / "one.zst"));
    }
    const auto files = parex::test::file_names(dir.path());  // no temporary file left
    CHECK(files == std::vector<std::string>{"corpus.bin", "one.zst", "ranks-2.zst", "ranks-3.zst"});
    // an existing output is kept (usage error on every rank); -d, -t and -l, stdin and stdout take one process
    CHECK(run(mpirun + "2 " + cli + " " + quote(in) + " -o " + quote(dir.path() / "one.zst") + " > /dev/null 2>&1") ==
          2);
    CHECK(run(mpirun + "2 " + cli + " -t " + quote(dir.path() / "one.zst") + " > /dev/null 2>&1") == 2);
    CHECK(run(mpirun + "2 " + cli + " -c " + quote(in) + " > /dev/null 2>&1") == 2);
    CHECK(parex::test::file_names(dir.path()) == files);
    CHECK(read_file(in) == data);
}
#endif

TEST_CASE("the automatic chunk size is twice the zstd window of the level, at least 1 MiB", "[compress]") {
    CHECK(pc::default_chunk_size(pc::codec::zstd, 1) == std::size_t{1} << 20);  // window 2^19
    CHECK(pc::default_chunk_size(pc::codec::zstd, 3) == std::size_t{4} << 20);  // window 2^21
    CHECK(pc::default_chunk_size(pc::codec::zstd, 9) == std::size_t{8} << 20);  // window 2^22
    CHECK(pc::default_chunk_size(pc::codec::lz4, 1) == std::size_t{1} << 20);
    CHECK(pc::compressor(pc::options{}).chunk_size() == std::size_t{4} << 20);
}

TEST_CASE("decompress_into decodes every frame in place and checks the buffer size", "[compress]") {
    const auto data = canterbury();
    for (auto kind : {pc::codec::zstd, pc::codec::lz4}) {
        const auto o = with(kind, 200000);
        const auto packed = pc::compressor(o).compress(data);
        const pc::archive file(packed);
        std::string out(data.size(), '\0');
        pc::decompressor(o).decompress_into(file, out);
        CHECK(out == data);
        std::string wrong(data.size() - 1, '\0');
        CHECK_THROWS_AS(pc::decompressor(o).decompress_into(file, wrong), std::invalid_argument);
    }
}

TEST_CASE("seek table checksums are the low 32 bits of XXH64 of each chunk", "[compress]") {
    const auto data = canterbury();
    for (auto kind : {pc::codec::zstd, pc::codec::lz4}) {
        const auto packed = pc::compressor(with(kind, 300000)).compress(data);
        const auto table = pc::read_seek_table(packed);
        REQUIRE(table.has_value());
        CHECK(table->has_checksums);
        std::size_t at = 0;
        for (const auto& e : table->entries) {
            const auto chunk = std::string_view(data).substr(at, e.decompressed);
            CHECK(e.checksum == static_cast<std::uint32_t>(XXH64(chunk.data(), chunk.size(), 0)));
            at += e.decompressed;
        }
        CHECK(at == data.size());
    }
}

TEST_CASE("parex-compress: killed at random points (SIGKILL, SIGINT), never a partial output, the input untouched",
          "[compress][cli]") {
    parex::test::temp_dir dir;
    std::string data;
    for (int i = 0; i < 8; ++i) data += canterbury();  // 22 MB: a few hundred ms of work on 2 threads
    const auto in = dir.path() / "in.bin", reference = dir.path() / "reference.zst", out = dir.path() / "out.zst";
    write_file(in, data);
    const auto [status, duration] = parex::test::timed_run(cli + " -q -T 2 " + quote(in) + " -o " + quote(reference));
    REQUIRE(status == 0);
    const auto expected = read_file(reference);
    const auto whole = [&](const fs::path& p) { return read_file(p) == expected; };
    const auto command = cli + " -q -T 2 " + quote(in) + " -o " + quote(out);
    const int finished = parex::test::crash_test(command, out, whole, 6, duration, in, data);
    CHECK(finished >= 0);
    CHECK(finished < 2 * 6);  // some rounds were interrupted
}

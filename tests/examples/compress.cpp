// The compression module (examples/compress): round trips on the Canterbury corpus and edge sizes,
// the standard zstd and lz4 tools decoding parex output, index-less standard files, range reads, every
// kind of bad input, and the parex-compress command line's file handling.
#include "engine.hpp"

#include "parex_catch.hpp"
#include "files.hpp"
#include "temp_dir.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace pc = parex::compress;

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

TEST_CASE("parex-compress: outputs appear only whole, never over a file without -f, the input untouched", "[compress][cli]") {
    parex::test::temp_dir dir;
    const auto data = canterbury();
    const auto in = dir.path() / "corpus.bin";
    write_file(in, data);
    const auto listing = [&] {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    };

    REQUIRE(run(cli + " -T 2 --chunk-size 256K " + quote(in)) == 0);
    const auto zst = dir.path() / "corpus.bin.zst";
    CHECK(read_file(in) == data);
    CHECK(listing() == std::vector<std::string>{"corpus.bin", "corpus.bin.zst"});  // no temporary file left
    REQUIRE(run("zstd -d -q -c " + quote(zst) + " | cmp -s - " + quote(in)) == 0);

    // an existing output is kept without -f, replaced with -f
    write_file(dir.path() / "corpus.bin.zst.keep", "");
    const auto before = read_file(zst);
    CHECK(run(cli + " -19 " + quote(in) + " 2>/dev/null") == 1);
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
    CHECK(run(cli + " -d -f " + quote(zst) + " -o " + quote(zst) + " 2>/dev/null") == 1);  // never over its input

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
    CHECK(run(cli + " -f --chunk-size 5Q " + quote(in) + " 2>/dev/null") == 1);  // not a size
    CHECK(run(cli + " -f --chunk-size 64KiB " + quote(in) + " -o " + quote(dir.path() / "k.zst")) == 0);
    CHECK(pc::archive(read_file(dir.path() / "k.zst")).frames().front().decompressed == std::size_t{64} << 10);
    CHECK(read_file(in) == data);
}

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

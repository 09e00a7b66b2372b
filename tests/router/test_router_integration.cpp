// sgl-router in front of three real sgl-server processes on stories260K ($SGL_SHARED_DIR): the
// same answers as a worker gives directly (raw HTTP, sgl-bench-serving and the official openai npm
// client), cache_aware beating round_robin on cached-token share for sgl-bench-serving's
// generated-shared-prefix workload (8 prefixes), a worker killed in the middle of 64 streams
// losing no request that had not started streaming, a client that disconnects mid-stream
// aborting its upstream request, and a worker added through /workers joining the rotation.
// Exits with 77 (ctest SKIP_RETURN_CODE) when $SGL_SHARED_DIR or the sgl-server binary is missing.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "router_server.hpp"

extern char** environ;

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
std::string g_server_bin, g_model, g_bench_bin, g_node, g_node_dir, g_tmp;

int free_port() {  // the kernel's pick of an ephemeral port (port 0), released for the child
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One sgl-server child process.
class WorkerProcess {
 public:
  WorkerProcess() : port_(free_port()) {
    std::vector<std::string> args = {g_server_bin, "--model-path", g_model, "--host", "127.0.0.1", "--port",
                                     std::to_string(port_), "--threads", "1", "--log-level", "error", "--enable-metrics"};
    std::vector<char*> av;
    for (auto& s : args) av.push_back(s.data());
    av.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid_, g_server_bin.c_str(), &fa, nullptr, av.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200000);
    for (int i = 0; i < 300; ++i) {  // up to 30 s
      if (auto r = c.Get("/health"); r && r->status == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("sgl-server on port " << port_ << " did not come up");
  }
  ~WorkerProcess() { kill(SIGTERM); }
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

// A router served in-process on a free port.
class Router {
 public:
  Router(const std::vector<std::string>& urls, const std::string& policy) {
    sgl::router::RouterArgs a;
    a.worker_urls = urls;
    a.host = "127.0.0.1";
    a.port = 0;
    a.prometheus_port = 0;
    a.policy.name = policy;
    a.health.interval_secs = 0.2;
    a.health.startup_check_interval_secs = 0.05;
    a.health.failure_threshold = 2;
    a.retry.initial_backoff_ms = 10;
    a.log_level = "error";
    server_ = std::make_unique<sgl::router::RouterServer>(a);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
    REQUIRE(server_->wait_for_workers(20) == urls.size());
  }
  ~Router() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<sgl::router::RouterServer> server_;
  std::thread thread_;
  int port_ = 0;
};

json post(int port, const std::string& path, const json& body, int* status = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto r = c.Post(path.c_str(), body.dump(), "application/json");
  if (status) *status = r ? r->status : -1;
  return r ? json::parse(r->body, nullptr, false) : json();
}

// A streamed request: the HTTP status, the raw body, and whether any byte arrived.
struct StreamResult {
  int status = -1;
  std::string body;
  std::atomic<bool> started{false};
};

void stream(int port, const std::string& path, const json& body, StreamResult& out) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  httplib::Request q;
  q.method = "POST";
  q.path = path;
  q.body = body.dump();
  q.set_header("Content-Type", "application/json");
  q.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    return true;
  };
  q.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    out.body.append(d, n);
    out.started = true;
    return true;
  };
  c.send(q);
}

std::string completion_text(const std::string& sse) {
  std::string text;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    size_t end = sse.find("\n\n", pos);
    std::string ev = sse.substr(pos + 6, end - pos - 6);
    pos = end;
    json j = json::parse(ev, nullptr, false);
    if (j.is_object() && j.contains("choices")) text += j["choices"][0]["text"].get<std::string>();
  }
  return text;
}

json gen(const std::string& text, int n) {
  return {{"text", text}, {"sampling_params", {{"max_new_tokens", n}, {"temperature", 0}}}};
}


// sgl-bench-serving against `url` (a worker or the router); the JSONL record it wrote.
json run_bench(const std::string& url, const std::string& flags) {
  const std::string out = g_tmp + "/bench.jsonl";
  std::filesystem::remove(out);
  std::string cmd = "'" + g_bench_bin + "' --base-url " + url + " --tokenizer '" + g_model +
                    "' --disable-tqdm --output-file '" + out + "' " + flags + " > '" + g_tmp + "/bench.log' 2>&1";
  int rc = std::system(cmd.c_str());
  INFO("command: " << cmd);
  REQUIRE(rc == 0);
  std::ifstream f(out);
  std::string line;
  std::getline(f, line);
  json j = json::parse(line, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// A worker's /get_loads num_running_reqs and its aborted-requests counter.
int running(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/get_loads");
  return r && r->status == 200 ? json::parse(r->body)[0]["num_running_reqs"].get<int>() : -1;
}
double aborted(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  if (!r) return -1;
  const std::string key = "\nsgl:num_aborted_requests_total ";
  size_t p = r->body.find(key);
  return p == std::string::npos ? -1 : std::stod(r->body.substr(p + key.size()));
}
}  // namespace

TEST_CASE("router on three sgl-server workers") {
  WorkerProcess w0, w1, w2;
  std::vector<std::string> urls = {w0.url(), w1.url(), w2.url()};

  SUBCASE("same answers through the router as from a worker directly") {
    Router r(urls, "cache_aware");
    for (const char* p : {"Once upon a time", "The little dog", "Lily and Tom went"}) {
      json direct = post(w0.port(), "/generate", gen(p, 24));
      json routed = post(r.port(), "/generate", gen(p, 24));
      CHECK(routed["text"] == direct["text"]);
      json body = {{"prompt", p}, {"max_tokens", 24}, {"temperature", 0}, {"stream", true}};
      StreamResult a, b;
      stream(w1.port(), "/v1/completions", body, a);
      stream(r.port(), "/v1/completions", body, b);
      CHECK(b.status == 200);
      CHECK(completion_text(b.body) == completion_text(a.body));
      CHECK(b.body.find("data: [DONE]") != std::string::npos);
    }
    int st = 0;
    json models = post(r.port(), "/flush_cache", json::object(), &st);
    CHECK(st == 200);
    CHECK(models["workers"].size() == 3);
  }

  SUBCASE("sgl-bench-serving and the openai npm client get the same answers through the router") {
    Router r(urls, "cache_aware");
    const std::string router_url = "http://127.0.0.1:" + std::to_string(r.port());
    for (const char* backend : {"sglang", "sglang-oai"}) {
      CAPTURE(backend);
      const std::string flags = std::string("--backend ") + backend +
                                " --dataset-name random --num-prompts 12 --random-input-len 40 --random-output-len 16"
                                " --random-range-ratio 1 --seed 7 --output-details";
      json direct = run_bench(w1.url(), flags);
      json routed = run_bench(router_url, flags);
      CHECK(routed["completed"] == 12);
      CHECK(routed["generated_texts"] == direct["generated_texts"]);
      CHECK(routed["output_lens"] == direct["output_lens"]);
      for (const auto& e : routed["errors"]) CHECK(e == "");
    }
    if (!std::filesystem::exists(g_node) || !std::filesystem::exists(g_node_dir + "/node_modules/openai/package.json")) {
      MESSAGE("skipped the openai npm client part: node or tests/integration/node/node_modules (install.sh) missing");
      return;
    }
    std::string cmd = "SGL_WORKER_URL=" + w2.url() + " SGL_ROUTER_URL=" + router_url + " timeout 120 '" + g_node +
                      "' '" + g_node_dir + "/openai_router.mjs'";
    CHECK(std::system(cmd.c_str()) == 0);
  }

  SUBCASE("cache_aware reaches a higher cached-token share than round_robin on generated-shared-prefix") {
    // sgl-bench-serving's generated-shared-prefix dataset: 8 system prompts, 4 questions each,
    // shuffled; one request at a time so that what is cached depends on the routing alone.
    const std::string flags =
        "--backend sglang --dataset-name generated-shared-prefix --gsp-num-groups 8 --gsp-prompts-per-group 4"
        " --gsp-system-prompt-len 192 --gsp-question-len 16 --gsp-output-len 4 --max-concurrency 1 --seed 3";
    auto run = [&](const std::string& policy, double& share, double& ttft) {
      for (auto* w : {&w0, &w1, &w2}) post(w->port(), "/flush_cache", json::object());
      Router r(urls, policy);
      json j = run_bench("http://127.0.0.1:" + std::to_string(r.port()), flags);
      REQUIRE(j["completed"] == 32);
      REQUIRE(j["cached_tokens_share"].is_number());
      share = j["cached_tokens_share"].get<double>();
      ttft = j["mean_ttft_ms"].get<double>();
    };
    double share_rr = 0, share_ca = 0, ttft_rr = 0, ttft_ca = 0;
    run("round_robin", share_rr, ttft_rr);
    run("cache_aware", share_ca, ttft_ca);
    std::printf("generated-shared-prefix (8 groups x 4): cached_tokens share round_robin %.3f cache_aware %.3f; "
                "mean TTFT (sgl-bench-serving) round_robin %.2f ms cache_aware %.2f ms\n",
                share_rr, share_ca, ttft_rr, ttft_ca);
    CHECK(share_ca > share_rr);
    CHECK(share_ca > 0.5);  // 3 of every 4 requests of a group find its system prompt cached
  }

  SUBCASE("a client that disconnects mid-stream aborts its upstream request") {
    Router r({w0.url()}, "round_robin");
    const double aborted_before = aborted(w0.port());
    std::atomic<bool> streaming{false}, leave{false};
    std::thread t([&] {
      httplib::Client c("127.0.0.1", r.port());
      c.set_read_timeout(60, 0);
      httplib::Request q;
      q.method = "POST";
      q.path = "/generate";
      q.body = json{{"text", "Once upon a time"}, {"stream", true},
                    {"sampling_params", {{"max_new_tokens", 100000}, {"ignore_eos", true}, {"temperature", 0}}}}
                   .dump();
      q.set_header("Content-Type", "application/json");
      q.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
        streaming = true;
        return !leave.load();  // false: httplib closes the connection
      };
      c.send(q);
    });
    auto until = std::chrono::steady_clock::now() + 30s;
    while (!streaming && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    REQUIRE(streaming);
    CHECK(running(w0.port()) == 1);
    leave = true;
    t.join();
    int n = -1;
    while ((n = running(w0.port())) != 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    CHECK(n == 0);  // the worker stopped decoding: the router closed its upstream connection
    CHECK(aborted(w0.port()) == aborted_before + 1);
  }

  SUBCASE("a worker killed in the middle of 64 streams loses no request that had not started") {
    Router r(urls, "round_robin");
    constexpr int kN = 64;
    std::vector<StreamResult> res(kN);
    std::vector<std::thread> th;
    auto launch = [&](int i) {
      json body = {{"text", "Once upon a time " + std::to_string(i)}, {"stream", true},
                   {"sampling_params", {{"max_new_tokens", 200}, {"temperature", 0}, {"ignore_eos", true}}}};
      th.emplace_back([&, i, body] { stream(r.port(), "/generate", body, res[i]); });
    };
    for (int i = 0; i < kN / 2; ++i) launch(i);
    auto until = std::chrono::steady_clock::now() + 20s;
    auto started = [&] {
      int k = 0;
      for (auto& x : res) k += x.started.load();
      return k;
    };
    while (started() < 8 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    w2.kill(SIGKILL);
    for (int i = kN / 2; i < kN; ++i) launch(i);  // some of these are routed to the dead worker first
    for (auto& t : th) t.join();
    int done = 0, cut = 0;
    for (int i = 0; i < kN; ++i) {
      INFO("request " << i << " status " << res[i].status << " body tail "
                      << res[i].body.substr(res[i].body.size() > 200 ? res[i].body.size() - 200 : 0));
      REQUIRE(res[i].status == 200);  // none failed before streaming
      REQUIRE(res[i].started);
      if (res[i].body.find("data: [DONE]") != std::string::npos) ++done;
      else {
        CHECK(res[i].body.find("\"error\"") != std::string::npos);  // cut streams end with an error chunk
        ++cut;
      }
    }
    std::printf("kill mid-run: %d of %d streams finished, %d cut mid-stream on the killed worker\n", done, kN, cut);
    CHECK(done >= kN / 2);
  }

  SUBCASE("a worker added through /workers joins the rotation") {
    Router r({w0.url()}, "round_robin");
    WorkerProcess w3;
    int st = 0;
    post(r.port(), "/workers", {{"url", w3.url()}}, &st);
    CHECK(st == 202);
    httplib::Client c("127.0.0.1", r.port());
    json list;
    for (int i = 0; i < 200; ++i) {
      list = json::parse(c.Get("/workers")->body);
      if (list["workers"].size() == 2 && list["workers"][1]["is_healthy"].get<bool>()) break;
      std::this_thread::sleep_for(50ms);
    }
    REQUIRE(list["workers"][1]["is_healthy"].get<bool>());
    for (int i = 0; i < 4; ++i) post(r.port(), "/generate", gen("Hello", 2));
    list = json::parse(c.Get("/workers")->body);
    CHECK(list["workers"][1]["url"] == w3.url());
    CHECK(list["workers"][1]["requests"].get<int>() == 2);
    CHECK(list["workers"][0]["requests"].get<int>() == 2);
    // And leaves it again.
    auto del = c.Delete(("/workers?url=" + w3.url()).c_str());
    CHECK(del->status == 200);
    CHECK(json::parse(c.Get("/list_workers")->body)["urls"].size() == 1);
  }
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const char* shared = std::getenv("SGL_SHARED_DIR");
  const char* bin = std::getenv("SGL_SERVER_BIN");
  if (!shared || !*shared) {
    std::printf("SKIPPED test_router_integration: SGL_SHARED_DIR is not set\n");
    return 77;
  }
  g_model = (std::filesystem::path(shared) / "models" / "stories260K.gguf").string();
  if (!std::filesystem::exists(g_model)) {
    std::printf("SKIPPED test_router_integration: %s is missing\n", g_model.c_str());
    return 77;
  }
  if (!bin || !std::filesystem::exists(bin)) {
    std::printf("SKIPPED test_router_integration: SGL_SERVER_BIN (the sgl-server binary) is not set\n");
    return 77;
  }
  g_server_bin = bin;
  const char* bench = std::getenv("SGL_BENCH_BIN");
  if (!bench || !std::filesystem::exists(bench)) {
    std::printf("SKIPPED test_router_integration: SGL_BENCH_BIN (the sgl-bench-serving binary) is not set\n");
    return 77;
  }
  g_bench_bin = bench;
  if (const char* node = std::getenv("SGL_NODE")) g_node = node;
  if (const char* dir = std::getenv("SGL_NODE_DIR")) g_node_dir = dir;
  g_tmp = (std::filesystem::temp_directory_path() / ("sgl_router_test_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(g_tmp);
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  std::filesystem::remove_all(g_tmp);
  return rc;
}

// Package redistest is an in-process Redis for tests: a RESP2 server that keeps hashes in
// memory and answers the commands the redis vector store sends (HELLO, PING, INFO, MODULE
// LIST, MULTI/EXEC, HSET, DEL, FT.CREATE, FT.INFO, FT.SEARCH with KNN, FT.DROPINDEX) the way
// RediSearch does, with exact search. Its search module can be absent, RediSearch 1.2 (no
// vector fields), or a 2.x version, so every module path of the store runs without a server.
//
// It is a model of RediSearch written from its documentation, not RediSearch: the store's
// conformance suite also runs against a real Redis 8 or Redis Stack when
// COMPOZY_TEST_REDIS_SEARCH_URL names one.
package redistest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is a running fake Redis.
type Server struct {
	// Addr is host:port of the listener.
	Addr string

	lis           net.Listener
	searchVersion int64
	mu            sync.Mutex
	hashes        map[string]map[string]string
	indexes       map[string]*index
	wg            sync.WaitGroup
	conns         map[net.Conn]struct{}
}

type index struct {
	prefix string
	field  string
	dim    int
	metric string // COSINE, IP, L2
	algo   string
}

// Start starts a server on 127.0.0.1 whose search module has the given version (0: no
// module; 10200: RediSearch 1.2, which the store refuses; 20400 or later: vector fields). It
// stops when the test ends.
func Start(tb testing.TB, searchVersion int64) *Server {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s := &Server{Addr: lis.Addr().String(), lis: lis, searchVersion: searchVersion,
		hashes: map[string]map[string]string{}, indexes: map[string]*index{}, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Stop closes the listener and every connection.
func (s *Server) Stop() {
	_ = s.lis.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.lis.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

// reply values: string (simple), rerr (error), int64, []byte (bulk), nil (null bulk), []any.
type rerr string

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	var queued [][]string
	inMulti := false
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		name := strings.ToUpper(args[0])
		var out any
		switch {
		case name == "MULTI":
			inMulti, queued, out = true, nil, "OK"
		case name == "EXEC" && inMulti:
			res := make([]any, len(queued))
			s.mu.Lock()
			for i, q := range queued {
				res[i] = s.do(q)
			}
			s.mu.Unlock()
			inMulti, queued, out = false, nil, res
		case name == "DISCARD":
			inMulti, queued, out = false, nil, "OK"
		case inMulti:
			queued = append(queued, args)
			out = "QUEUED"
		default:
			s.mu.Lock()
			out = s.do(args)
			s.mu.Unlock()
		}
		writeReply(w, out)
		if err := w.Flush(); err != nil {
			return
		}
	}
}

func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil // inline command
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 1 {
		return nil, errors.New("bad array header")
	}
	args := make([]string, n)
	for i := range args {
		h, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l, err := strconv.Atoi(strings.TrimRight(h, "\r\n")[1:])
		if err != nil {
			return nil, err
		}
		buf := make([]byte, l+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:l])
	}
	return args, nil
}

func writeReply(w *bufio.Writer, v any) {
	switch x := v.(type) {
	case nil:
		w.WriteString("$-1\r\n")
	case string:
		w.WriteString("+" + x + "\r\n")
	case rerr:
		w.WriteString("-" + string(x) + "\r\n")
	case int64:
		fmt.Fprintf(w, ":%d\r\n", x)
	case int:
		fmt.Fprintf(w, ":%d\r\n", x)
	case []byte:
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(x), x)
	case []any:
		fmt.Fprintf(w, "*%d\r\n", len(x))
		for _, e := range x {
			writeReply(w, e)
		}
	default:
		panic(fmt.Sprintf("redistest: cannot write %T", v))
	}
}

func bulk(s string) []byte { return []byte(s) }

func (s *Server) hasSearch() bool { return s.searchVersion > 0 }

// do runs one command; the caller holds mu.
func (s *Server) do(args []string) any {
	name := strings.ToUpper(args[0])
	if strings.HasPrefix(name, "FT.") && !s.hasSearch() {
		return rerr(fmt.Sprintf("ERR unknown command '%s', with args beginning with: ", args[0]))
	}
	switch name {
	case "HELLO":
		return rerr("ERR unknown command 'HELLO'") // RESP2 only, like Redis 5
	case "PING":
		return "PONG"
	case "SELECT", "CLIENT":
		return "OK"
	case "INFO":
		return bulk("# Server\r\nredis_version:7.2.4-fake\r\nredis_mode:standalone\r\n")
	case "MODULE":
		if !s.hasSearch() {
			return []any{}
		}
		modName := "search"
		if s.searchVersion < 20000 {
			modName = "ft"
		}
		return []any{[]any{bulk("name"), bulk(modName), bulk("ver"), s.searchVersion, bulk("path"), bulk("/fake/redisearch.so"), bulk("args"), []any{}}}
	case "HSET":
		if len(args) < 4 || len(args)%2 != 0 {
			return rerr("ERR wrong number of arguments for 'hset' command")
		}
		h := s.hashes[args[1]]
		if h == nil {
			h = map[string]string{}
			s.hashes[args[1]] = h
		}
		added := int64(0)
		for i := 2; i+1 < len(args); i += 2 {
			if _, ok := h[args[i]]; !ok {
				added++
			}
			h[args[i]] = args[i+1]
		}
		return added
	case "DEL":
		n := int64(0)
		for _, k := range args[1:] {
			if _, ok := s.hashes[k]; ok {
				delete(s.hashes, k)
				n++
			}
		}
		return n
	case "FT.CREATE":
		return s.ftCreate(args)
	case "FT.INFO":
		return s.ftInfo(args)
	case "FT.SEARCH":
		return s.ftSearch(args)
	case "FT.DROPINDEX":
		idx, ok := s.indexes[args[1]]
		if !ok {
			return rerr("Unknown Index name")
		}
		if len(args) > 2 && strings.EqualFold(args[2], "DD") {
			for k := range s.hashes {
				if strings.HasPrefix(k, idx.prefix) {
					delete(s.hashes, k)
				}
			}
		}
		delete(s.indexes, args[1])
		return "OK"
	}
	return rerr(fmt.Sprintf("ERR unknown command '%s'", args[0]))
}

func (s *Server) ftCreate(args []string) any {
	// FT.CREATE idx ON HASH PREFIX 1 p SCHEMA f VECTOR HNSW n k v ...
	if len(args) < 6 {
		return rerr("ERR wrong number of arguments")
	}
	if _, ok := s.indexes[args[1]]; ok {
		return rerr("Index already exists")
	}
	idx := &index{}
	i := 2
	for i < len(args) {
		switch strings.ToUpper(args[i]) {
		case "ON":
			i += 2
		case "PREFIX":
			n, _ := strconv.Atoi(args[i+1])
			if n != 1 {
				return rerr("fake: one prefix only")
			}
			idx.prefix = args[i+2]
			i += 3
		case "SCHEMA":
			i++
			idx.field = args[i]
			if i+1 >= len(args) || !strings.EqualFold(args[i+1], "VECTOR") {
				return rerr("fake: one VECTOR field only")
			}
			if s.searchVersion < 20400 {
				return rerr("Could not parse field spec")
			}
			idx.algo = strings.ToUpper(args[i+2])
			n, _ := strconv.Atoi(args[i+3])
			attrs := args[i+4 : i+4+n]
			for j := 0; j+1 < len(attrs); j += 2 {
				switch strings.ToUpper(attrs[j]) {
				case "DIM":
					idx.dim, _ = strconv.Atoi(attrs[j+1])
				case "DISTANCE_METRIC":
					idx.metric = strings.ToUpper(attrs[j+1])
				case "TYPE":
					if !strings.EqualFold(attrs[j+1], "FLOAT32") {
						return rerr("fake: FLOAT32 only")
					}
				}
			}
			i = len(args)
		default:
			return rerr("fake: unexpected FT.CREATE argument " + args[i])
		}
	}
	if idx.dim <= 0 || idx.metric == "" {
		return rerr("Bad arguments for vector similarity: DIM and DISTANCE_METRIC are required")
	}
	s.indexes[args[1]] = idx
	return "OK"
}

// docs returns the keys the index covers, sorted.
func (s *Server) docs(idx *index) []string {
	var keys []string
	for k, h := range s.hashes {
		if strings.HasPrefix(k, idx.prefix) && len(h[idx.field]) == 4*idx.dim {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) ftInfo(args []string) any {
	idx, ok := s.indexes[args[1]]
	if !ok {
		return rerr("Unknown Index name")
	}
	return []any{
		bulk("index_name"), bulk(args[1]),
		bulk("index_definition"), []any{bulk("key_type"), bulk("HASH"), bulk("prefixes"), []any{bulk(idx.prefix)}},
		bulk("attributes"), []any{[]any{
			bulk("identifier"), bulk(idx.field), bulk("attribute"), bulk(idx.field), bulk("type"), bulk("VECTOR"),
			bulk("algorithm"), bulk(idx.algo), bulk("data_type"), bulk("FLOAT32"), bulk("dim"), int64(idx.dim),
			bulk("distance_metric"), bulk(idx.metric),
		}},
		bulk("num_docs"), bulk(strconv.Itoa(len(s.docs(idx)))),
	}
}

var knnQuery = regexp.MustCompile(`^\*=>\[KNN (\d+|\$\w+) @(\w+) \$(\w+)(?: AS (\w+))?\]$`)

func (s *Server) ftSearch(args []string) any {
	idx, ok := s.indexes[args[1]]
	if !ok {
		return rerr("Unknown Index name")
	}
	m := knnQuery.FindStringSubmatch(args[2])
	if m == nil {
		return rerr("fake: only '*=>[KNN k @field $param AS name]' queries")
	}
	params := map[string]string{}
	dialect := 1
	var ret []string
	limit := 10
	for i := 3; i < len(args); {
		switch strings.ToUpper(args[i]) {
		case "PARAMS":
			n, _ := strconv.Atoi(args[i+1])
			for j := 0; j+1 < n; j += 2 {
				params[args[i+2+j]] = args[i+3+j]
			}
			i += 2 + n
		case "SORTBY":
			i += 3
		case "RETURN":
			n, _ := strconv.Atoi(args[i+1])
			ret = args[i+2 : i+2+n]
			i += 2 + n
		case "LIMIT":
			limit, _ = strconv.Atoi(args[i+2])
			i += 3
		case "DIALECT":
			dialect, _ = strconv.Atoi(args[i+1])
			i += 2
		default:
			return rerr("fake: unexpected FT.SEARCH argument " + args[i])
		}
	}
	if dialect < 2 {
		return rerr("Syntax error: KNN queries need DIALECT 2")
	}
	k, err := strconv.Atoi(m[1])
	if err != nil {
		k, _ = strconv.Atoi(params[strings.TrimPrefix(m[1], "$")])
	}
	if m[2] != idx.field {
		return rerr("fake: unknown vector field " + m[2])
	}
	blob := params[m[3]]
	if len(blob) != 4*idx.dim {
		return rerr(fmt.Sprintf("Error parsing vector similarity query: query vector blob size (%d) does not match index's expected size (%d).", len(blob), 4*idx.dim))
	}
	score := m[4]
	if score == "" {
		score = "__" + idx.field + "_score"
	}
	q := floats(blob)
	type hit struct {
		key  string
		dist float64
	}
	var hits []hit
	for _, key := range s.docs(idx) {
		hits = append(hits, hit{key, distance(idx.metric, q, floats(s.hashes[key][idx.field]))})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].dist < hits[j].dist })
	hits = hits[:min(len(hits), k, limit)]
	out := []any{int64(len(hits))}
	for _, h := range hits {
		var fields []any
		for _, f := range ret {
			if f == score {
				fields = append(fields, bulk(f), bulk(strconv.FormatFloat(h.dist, 'g', 9, 64)))
			} else if v, ok := s.hashes[h.key][f]; ok {
				fields = append(fields, bulk(f), bulk(v))
			}
		}
		out = append(out, bulk(h.key), fields)
	}
	return out
}

func floats(b string) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32([]byte(b[4*i : 4*i+4])))
	}
	return v
}

// distance is RediSearch's: 1 - cosine similarity, 1 - inner product, squared L2.
func distance(metric string, q, v []float32) float64 {
	var dot, nq, nv, sq float64
	for i := range q {
		a, b := float64(q[i]), float64(v[i])
		dot += a * b
		nq += a * a
		nv += b * b
		sq += (a - b) * (a - b)
	}
	switch metric {
	case "IP":
		return 1 - dot
	case "L2":
		return sq
	}
	return 1 - dot/math.Sqrt(nq*nv)
}

using P2PTransfer.Common;

namespace P2PTransfer.Net;

/// <summary>What the listener does with a connection just accepted, by where it comes from.</summary>
internal enum SourceVerdict
{
    /// <summary>Served: it holds a place of its address until its ticket is disposed.</summary>
    Admitted,

    /// <summary>Its address holds its share already, or has just connected too often: refused with a reason after its Hello.</summary>
    Refused,

    /// <summary>Its address is banned for connecting too often: closed at once, without a word.</summary>
    Banned,
}

/// <summary>
/// The node's accounting of connections per source, judged at accept before any handshake work: how many
/// connections, clients and peer links each remote address holds, peer links per subnet, and bans of addresses that
/// connect too often (gtk-gnutella's rule: a ban that doubles with each offence, up to a longest one). Memory is
/// bounded: addresses that hold nothing and are not banned are forgotten when the table grows.
/// </summary>
internal sealed class ConnectionSources(SourceLimitOptions options, TimeProvider? clock = null)
{
    private const int SweepAbove = 4096;

    private readonly object _gate = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Dictionary<string, AddressState> _addresses = [];
    private readonly Dictionary<string, int> _subnetPeers = [];
    private int _sweepAt = SweepAbove;

    /// <summary>Connections one address may hold before its Hello says its role: its clients and peer links together.</summary>
    private int MostPerAddress => options.ClientsPerAddress + options.PeersPerAddress;

    /// <summary>
    /// Judges a connection from <paramref name="remoteAddress"/> as it is accepted. Every call counts as a connect
    /// of that address; one over its rate starts a ban (this one is refused with the reason, the next are closed).
    /// </summary>
    public SourceVerdict Admit(string remoteAddress, out SourceTicket? ticket, out string refusal)
    {
        var source = SourceAddress.Of(remoteAddress);
        long now = ClockMilliseconds.Now(_clock);
        ticket = null;
        refusal = string.Empty;
        lock (_gate)
        {
            var state = StateOf(source.Address, now);
            if (now < state.BannedUntil)
            {
                return SourceVerdict.Banned;
            }

            if (!state.Connects.TryTake())
            {
                var ban = state.StartBan(now, options.FirstBan, options.LongestBan);
                refusal = $"address {source.Address} opened more than {options.ConnectsPerMinute} connections in a minute: refused for {Describe(ban)}";
                return SourceVerdict.Refused;
            }

            if (state.Open >= MostPerAddress)
            {
                refusal = $"address {source.Address} holds {state.Open} connections, the most one address may hold";
                return SourceVerdict.Refused;
            }

            state.Open++;
            ticket = new SourceTicket(this, state, source.Subnet);
            return SourceVerdict.Admitted;
        }
    }

    /// <summary>Whether an address is banned right now (for tests and diagnostics).</summary>
    public bool IsBanned(string address)
    {
        lock (_gate)
        {
            return _addresses.TryGetValue(address, out var state) && ClockMilliseconds.Now(_clock) < state.BannedUntil;
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{span.TotalHours:0.#} h" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    private AddressState StateOf(string address, long now)
    {
        if (_addresses.TryGetValue(address, out var state))
        {
            return state;
        }

        if (_addresses.Count >= _sweepAt)
        {
            Sweep(now);
        }

        state = new AddressState(address, new RateLimit(options.ConnectsPerMinute / 60.0, options.ConnectsPerMinute, _clock));
        _addresses[address] = state;
        return state;
    }

    /// <summary>Forgets the addresses that hold nothing and whose last ban (if any) is long over.</summary>
    private void Sweep(long now)
    {
        long forgive = (long)options.LongestBan.TotalMilliseconds;
        foreach (var (address, state) in _addresses.ToList())
        {
            if (state.Open == 0 && now - state.BannedUntil > forgive)
            {
                _addresses.Remove(address);
            }
        }

        _sweepAt = Math.Max(SweepAbove, _addresses.Count * 2);
    }

    private bool TryTakeRole(AddressState state, string subnet, bool peer, out string refusal)
    {
        lock (_gate)
        {
            if (!peer)
            {
                if (state.Clients >= options.ClientsPerAddress)
                {
                    refusal = $"address {state.Address} holds {state.Clients} client connections, the most one address may hold";
                    return false;
                }

                state.Clients++;
                refusal = string.Empty;
                return true;
            }

            if (state.Peers >= options.PeersPerAddress)
            {
                refusal = $"address {state.Address} holds {state.Peers} peer links, the most one address may hold";
                return false;
            }

            int inSubnet = _subnetPeers.GetValueOrDefault(subnet);
            if (inSubnet >= options.PeersPerSubnet)
            {
                refusal = $"subnet {subnet} holds {inSubnet} peer links, the most one subnet may hold";
                return false;
            }

            state.Peers++;
            _subnetPeers[subnet] = inSubnet + 1;
            refusal = string.Empty;
            return true;
        }
    }

    private void Release(AddressState state, string subnet, bool? peer)
    {
        lock (_gate)
        {
            state.Open--;
            if (peer == false)
            {
                state.Clients--;
            }
            else if (peer == true)
            {
                state.Peers--;
                if (--_subnetPeers[subnet] == 0)
                {
                    _subnetPeers.Remove(subnet);
                }
            }
        }
    }

    /// <summary>The place a connection holds in its address's share, from accept until it ends.</summary>
    internal sealed class SourceTicket : IDisposable
    {
        private readonly ConnectionSources _owner;
        private readonly AddressState _state;
        private readonly string _subnet;
        private bool? _peer;
        private int _disposed;

        internal SourceTicket(ConnectionSources owner, AddressState state, string subnet)
        {
            _owner = owner;
            _state = state;
            _subnet = subnet;
        }

        /// <summary>The connection's Hello said its role: false, with the reason, when its address (or subnet) holds its share of that role.</summary>
        public bool TryTakeRole(bool peer, out string refusal)
        {
            if (_peer is not null)
            {
                throw new InvalidOperationException("the role of this connection was taken already");
            }

            if (!_owner.TryTakeRole(_state, _subnet, peer, out refusal))
            {
                return false;
            }

            _peer = peer;
            return true;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_state, _subnet, _peer);
            }
        }
    }

    /// <summary>One address: what it holds, how fast it connects, and its bans.</summary>
    internal sealed class AddressState(string address, RateLimit connects)
    {
        public string Address { get; } = address;

        public RateLimit Connects { get; } = connects;

        public int Open { get; set; }

        public int Clients { get; set; }

        public int Peers { get; set; }

        public long BannedUntil { get; private set; } = long.MinValue / 2;

        public int Bans { get; private set; }

        /// <summary>Bans the address: the first ban lasts <paramref name="first"/>, each further one twice the last, up to <paramref name="longest"/>; an address clean for the longest ban after its last one starts over.</summary>
        public TimeSpan StartBan(long now, TimeSpan first, TimeSpan longest)
        {
            if (Bans > 0 && now - BannedUntil > (long)longest.TotalMilliseconds)
            {
                Bans = 0;
            }

            double ms = Math.Min(first.TotalMilliseconds * Math.Pow(2, Math.Min(Bans, 30)), longest.TotalMilliseconds);
            Bans++;
            BannedUntil = now + (long)ms;
            return TimeSpan.FromMilliseconds(ms);
        }
    }
}
